import { conflict } from './errors.ts';

/** What an attempt returns when another writer changed the state between its read and its write. */
export const anotherWriterWon: unique symbol = Symbol('another writer won');

/**
 * Thrown inside a transaction whose compare-and-set found the row changed (its revision moved on):
 * the transaction rolls back what it wrote before, and `retryOnConflict` runs the attempt again.
 */
export class StaleWrite extends Error {
  constructor() {
    super('another writer changed the row first');
    this.name = 'StaleWrite';
  }
}

export interface RetryOnConflictOptions {
  /** Attempts in all: a state that never stops changing ends in an error, never an endless loop. */
  maxAttempts: number;
  /**
   * Errors that mean another writer won (a unique violation, a stale precondition): the attempt runs
   * again. `StaleWrite` always counts; any other error propagates at once.
   */
  lostRace?: (error: unknown) => boolean;
  /**
   * When every attempt lost: a CONFLICT with this message, or this error. Without it, the last
   * attempt's own error (or a generic CONFLICT when the attempt returned `anotherWriterWon`).
   */
  exhausted?: string | (() => Error);
}

/**
 * The "another writer won, try again" loop of optimistic writes: `attempt` reads the current state,
 * computes its change and writes it only if nobody wrote in between. When another writer won (the
 * attempt returns `anotherWriterWon`, or throws `StaleWrite` or an error `lostRace` accepts), it runs
 * again on the fresh state, at most `maxAttempts` times. `attempt` gets its number, from 1.
 */
export async function retryOnConflict<T>(
  options: RetryOnConflictOptions,
  attempt: (attemptNumber: number) => Promise<T | typeof anotherWriterWon>,
): Promise<T> {
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    let lost: unknown;
    try {
      const result = await attempt(attemptNumber);
      if (result !== anotherWriterWon) return result;
    } catch (error) {
      if (!(error instanceof StaleWrite || options.lostRace?.(error) === true)) throw error;
      lost = error;
    }
    if (attemptNumber >= options.maxAttempts) {
      const { exhausted } = options;
      if (typeof exhausted === 'string') throw conflict(exhausted);
      if (exhausted !== undefined) throw exhausted();
      if (lost !== undefined && !(lost instanceof StaleWrite)) throw lost;
      throw conflict('another request kept changing the same resource; try again');
    }
  }
}
