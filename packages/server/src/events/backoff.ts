import { backoffDelayMs as fullJitterDelayMs } from '@runyard/protocol';

/** Delays of the PostgreSQL bus's retries (reconnect, NOTIFY, reads of the table), in milliseconds. */
export interface BackoffRangeMs {
  initial: number;
  maximum: number;
  /** The jitter's draw in [0, 1) (Math.random); a test pins it to know how long a reconnect takes. */
  random?: () => number;
}

/**
 * The one retry rule (protocol's full jitter), doubling from `initial` up to `maximum`: many
 * processes that lost PostgreSQL together do not come back in step.
 */
export function backoffDelayMs(range: BackoffRangeMs, attempt: number): number {
  return fullJitterDelayMs(attempt, { baseMs: range.initial, capMs: range.maximum }, range.random);
}
