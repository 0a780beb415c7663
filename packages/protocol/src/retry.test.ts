import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { backoffBoundMs, backoffDelayMs, sleep, sleepUnlessAborted } from './retry.ts';

const policy = { baseMs: 100, capMs: 2_000 };

describe('backoffDelayMs', () => {
  it('draws from [0, base·2^retry]: the bound doubles with each retry', () => {
    expect([0, 1, 2, 3, 4].map((retry) => backoffDelayMs(retry, policy, () => 0))).toEqual([0, 0, 0, 0, 0]);
    expect([0, 1, 2, 3, 4].map((retry) => backoffDelayMs(retry, policy, () => 0.999_999))).toEqual([
      100, 200, 400, 800, 1600,
    ]);
    expect(backoffDelayMs(2, policy, () => 0.5)).toBe(200);
  });

  it('never exceeds the cap, however many retries came before', () => {
    for (const retry of [5, 6, 40, 1_000, Number.MAX_SAFE_INTEGER]) {
      expect(backoffBoundMs(retry, policy)).toBe(2_000);
      expect(backoffDelayMs(retry, policy, () => 0.999_999)).toBe(2_000);
    }
  });

  it('is full jitter: random delays cover the whole window, the lower half included', () => {
    const delays = Array.from({ length: 2_000 }, () => backoffDelayMs(3, policy));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(800);
    // Equal jitter (bound/2 + random·bound/2) would never go below 400.
    expect(delays.filter((delay) => delay < 200).length).toBeGreaterThan(100);
    expect(delays.filter((delay) => delay > 600).length).toBeGreaterThan(100);
  });
});

describe('sleep', () => {
  it('waits the time given', async () => {
    const started = performance.now();
    await sleep(60);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("stops as soon as the signal aborts, with the signal's own reason", async () => {
    const controller = new AbortController();
    const reason = new Error('run cancelled');
    const started = performance.now();
    const waiting = sleep(60_000, controller.signal);
    setTimeout(() => controller.abort(reason), 20);
    await expect(waiting).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('does not start under a signal that has already aborted', async () => {
    const controller = new AbortController();
    controller.abort('gone');
    await expect(sleep(60_000, controller.signal)).rejects.toBe('gone');
    await expect(sleep(0, controller.signal)).rejects.toBe('gone');
  });

  it('leaves no abort listener on a long-lived signal once the time is up', async () => {
    const controller = new AbortController();
    for (let wait = 0; wait < 20; wait += 1) await sleep(2, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('sleepUnlessAborted', () => {
  it('is true when the time passed and false when the signal cut it short', async () => {
    const controller = new AbortController();
    expect(await sleepUnlessAborted(5, controller.signal)).toBe(true);
    const waiting = sleepUnlessAborted(60_000, controller.signal);
    controller.abort(new Error('stopping'));
    expect(await waiting).toBe(false);
  });
});
