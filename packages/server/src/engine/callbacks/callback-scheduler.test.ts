import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callbackSignature, retryDelayMs } from './callback-scheduler.ts';

describe('retryDelayMs', () => {
  const hour = 60 * 60 * 1000;

  it('doubles from the base with each failed attempt', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, 1000, hour, middle))).toEqual([
      1000, 2000, 4000, 8000, 16_000,
    ]);
  });

  it('jitters by at most 20 % either way', () => {
    expect(retryDelayMs(3, 1000, hour, () => 0)).toBe(3200);
    expect(retryDelayMs(3, 1000, hour, () => 0.999_999)).toBe(4800);
  });

  it('never waits longer than the cap, however many attempts failed', () => {
    for (const attempt of [13, 20, 100, 10_000]) {
      expect(retryDelayMs(attempt, 1000, hour, () => 0.999_999)).toBe(hour);
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
