import { describe, expect, it } from 'vitest';
import { RunyardError } from '../shared/errors.ts';
import { RateLimiter } from './rate-limit.ts';

function limited(work: () => void): RunyardError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(RunyardError);
    return error as RunyardError;
  }
  throw new Error('expected RATE_LIMITED');
}

const start = 1_700_000_000_000;

describe('RateLimiter', () => {
  it('allows the limit within one window, then refuses with Retry-After seconds', () => {
    const limiter = new RateLimiter(3);
    for (let count = 0; count < 3; count += 1)
      expect(() => limiter.check('key_a', start + count)).not.toThrow();
    const error = limited(() => limiter.check('key_a', start + 10));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.status).toBe(429);
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('more than 3 requests a minute for this API key');
    expect(error.details).toEqual({ limitPerMinute: 3, retryAfterSeconds: 60 });
    expect(limited(() => limiter.check('key_a', start + 30_000)).details.retryAfterSeconds).toBe(30);
    expect(limited(() => limiter.check('key_a', start + 30_001)).details.retryAfterSeconds).toBe(30);
    expect(limited(() => limiter.check('key_a', start + 59_001)).details.retryAfterSeconds).toBe(1);
    // Never 0, even in the window's last millisecond.
    expect(limited(() => limiter.check('key_a', start + 59_999)).details.retryAfterSeconds).toBe(1);
  });

  it('opens a new window a minute after the first request of the last one', () => {
    const limiter = new RateLimiter(2);
    limiter.check('key_a', start);
    limiter.check('key_a', start + 50_000);
    expect(() => limiter.check('key_a', start + 59_999)).toThrow(RunyardError);
    expect(() => limiter.check('key_a', start + 60_000)).not.toThrow();
    expect(() => limiter.check('key_a', start + 60_001)).not.toThrow();
    expect(limited(() => limiter.check('key_a', start + 60_002)).details.retryAfterSeconds).toBe(60);
  });

  it('counts each key separately', () => {
    const limiter = new RateLimiter(1);
    limiter.check('key_a', start);
    expect(() => limiter.check('key_b', start)).not.toThrow();
    expect(() => limiter.check('key_a', start)).toThrow(RunyardError);
    expect(() => limiter.check('key_b', start)).toThrow(RunyardError);
    expect(() => limiter.check('key_c', start)).not.toThrow();
  });

  it('0 disables the limit', () => {
    const limiter = new RateLimiter(0);
    for (let count = 0; count < 10_000; count += 1) limiter.check('key_a', start);
  });

  it('keeps limiting correctly after evicting old windows', () => {
    const limiter = new RateLimiter(1);
    for (let index = 0; index <= 10_001; index += 1) limiter.check(`key_${index}`, start);
    // A new key after a minute triggers eviction of the expired windows; live ones still count.
    limiter.check('key_live', start + 30_000);
    limiter.check('key_new', start + 60_000);
    expect(() => limiter.check('key_live', start + 60_000)).toThrow(RunyardError);
    expect(() => limiter.check('key_0', start + 60_000)).not.toThrow();
  });
});
