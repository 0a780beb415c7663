import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callbackSignature, retryDelayMs } from './callback-scheduler.ts';

describe('retryDelayMs', () => {
  const hour = 60 * 60 * 1000;

  it('draws up to a bound that doubles from the base with each failed attempt', () => {
    const top = () => 0.999_999;
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, 1000, hour, top))).toEqual([
      1000, 2000, 4000, 8000, 16_000,
    ]);
    expect(retryDelayMs(3, 1000, hour, () => 0.5)).toBe(2000);
  });

  it('is full jitter: anywhere from 0 to the bound', () => {
    expect(retryDelayMs(3, 1000, hour, () => 0)).toBe(0);
    for (let draw = 0; draw < 500; draw += 1) {
      const delay = retryDelayMs(3, 1000, hour);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(4000);
    }
  });

  it('never waits longer than the cap, however many attempts failed', () => {
    for (const attempt of [13, 20, 100, 10_000]) {
      expect(retryDelayMs(attempt, 1000, hour, () => 1)).toBe(hour);
      expect(retryDelayMs(attempt, 1000, hour)).toBeLessThanOrEqual(hour);
    }
  });
});

describe('callbackSignature', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const body = '{"id":"run_1"}';
    const expected = createHmac('sha256', 'the-secret').update(`1700000000.${body}`).digest('hex');
    expect(callbackSignature('the-secret', 1_700_000_000, body)).toBe(`t=1700000000,v1=${expected}`);
  });
});
