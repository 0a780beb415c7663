/** Delays of the PostgreSQL bus's retries (reconnect, NOTIFY, reads of the table), in milliseconds. */
export interface BackoffRangeMs {
  initial: number;
  maximum: number;
}

/** Exponential from `initial` to `maximum`, with jitter so that many processes do not retry in step. */
export function backoffDelayMs(range: BackoffRangeMs, attempt: number): number {
  const { initial, maximum } = range;
  const delay = Math.min(initial * 2 ** Math.min(attempt, 30), maximum);
  return Math.round(delay * (0.75 + Math.random() * 0.25));
}
