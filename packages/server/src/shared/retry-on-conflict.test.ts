import { describe, expect, it } from 'vitest';
import type { RunyardError } from './errors.ts';
import { hasErrorCode } from './errors.ts';
import { StaleWrite, anotherWriterWon, retryOnConflict } from './retry-on-conflict.ts';

class Taken extends Error {}

describe('retryOnConflict', () => {
  it('runs the attempt again while another writer wins, then returns what the winning attempt wrote', async () => {
    const seen: number[] = [];
    const result = await retryOnConflict({ maxAttempts: 5 }, (attempt) => {
      seen.push(attempt);
      return Promise.resolve(attempt < 3 ? anotherWriterWon : `written on attempt ${attempt}`);
    });
    expect(result).toBe('written on attempt 3');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('counts a StaleWrite, and the errors lostRace accepts, as a lost race', async () => {
    let calls = 0;
    const result = await retryOnConflict(
      { maxAttempts: 5, lostRace: (error) => error instanceof Taken },
      () => {
        calls += 1;
        if (calls === 1) throw new StaleWrite();
        if (calls === 2) throw new Taken();
        return Promise.resolve('done');
      },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
  });

  it('lets any other error through at once', async () => {
    let calls = 0;
    const failure = new Error('disk full');
    await expect(
      retryOnConflict({ maxAttempts: 5, lostRace: (error) => error instanceof Taken }, () => {
        calls += 1;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with a CONFLICT naming what kept changing', async () => {
    let calls = 0;
    const attempt = () => {
      calls += 1;
      return Promise.resolve(anotherWriterWon);
    };
    const error: unknown = await retryOnConflict(
      { maxAttempts: 4, exhausted: 'the agent kept changing; try again' },
      attempt,
    ).catch((caught: unknown) => caught);
    expect(calls).toBe(4);
    expect(hasErrorCode(error, 'CONFLICT')).toBe(true);
    expect((error as RunyardError).message).toBe('the agent kept changing; try again');
    expect((error as RunyardError).status).toBe(409);
  });

  it("without an exhausted message, gives up with the last attempt's own error", async () => {
    const errors = [new Taken('first'), new Taken('second')];
    let calls = 0;
    await expect(
      retryOnConflict({ maxAttempts: 2, lostRace: (error) => error instanceof Taken }, () => {
        throw errors[calls++] ?? new Error('a third attempt');
      }),
    ).rejects.toBe(errors[1]);
    const stale = await retryOnConflict({ maxAttempts: 2 }, () => {
      throw new StaleWrite();
    }).catch((caught: unknown) => caught);
    expect(hasErrorCode(stale, 'CONFLICT')).toBe(true);
  });
});
