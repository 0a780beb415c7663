import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ProviderRateLimiter } from './provider-rate-limiter.ts';

describe('provider rate limiter', () => {
  it('lets requests start up to the limit per window, then waits for the window to slide', async () => {
    const limiter = new ProviderRateLimiter(200);
    const signal = new AbortController().signal;
    const started = Date.now();
    await limiter.acquire('provider-a', 2, signal);
    await limiter.acquire('provider-a', 2, signal);
    // Another provider has a window of its own.
    await limiter.acquire('provider-b', 2, signal);
    expect(Date.now() - started).toBeLessThan(150);

    await limiter.acquire('provider-a', 2, signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
  });

  it('leaves no abort listener behind on the signal, however many times it waited', async () => {
    const limiter = new ProviderRateLimiter(30);
    const signal = new AbortController().signal;
    for (let request = 0; request < 5; request += 1) await limiter.acquire('provider', 1, signal);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('stops waiting when the signal aborts, with the signal’s reason', async () => {
    const limiter = new ProviderRateLimiter(60_000);
    const controller = new AbortController();
    await limiter.acquire('provider', 1, controller.signal);
    const waiting = limiter.acquire('provider', 1, controller.signal);
    const reason = new Error('the run was cancelled');
    setTimeout(() => controller.abort(reason), 20);
    await expect(waiting).rejects.toBe(reason);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
