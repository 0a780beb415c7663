/**
 * The one retry rule of Runyard, for the server and the SDK alike: exponential backoff with full
 * jitter, as AWS describes it ("Exponential Backoff And Jitter"): the delay before retry `n` (0 for
 * the first) is drawn uniformly from [0, min(capMs, baseMs·2^n)]. Spreading retries over the whole
 * window is what keeps many clients that failed together (a provider's 429, a callback receiver
 * that was down, every process losing PostgreSQL at once) from coming back in step, and it does the
 * least work overall. No caller documents a reason for another rule; each caller's own numbers
 * (base, cap, how many retries, how long) stay in its own module and docs. A delay the other side
 * named (`Retry-After`) is the caller's to honour instead of this one.
 */
export interface BackoffPolicy {
  /** The bound of the first retry's delay; it doubles with each retry. */
  baseMs: number;
  /** No delay is longer than this. */
  capMs: number;
}

/** The delay before retry `retry` (0 for the first): uniform in [0, min(capMs, baseMs·2^retry)]. */
export function backoffDelayMs(
  retry: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  return Math.round(random() * backoffBoundMs(retry, policy));
}

/** The largest delay `backoffDelayMs` can give before retry `retry`. */
export function backoffBoundMs(retry: number, policy: BackoffPolicy): number {
  // 2^52 keeps the product finite and exact; any cap is reached long before.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(0, retry), 52));
}

/**
 * Waits `milliseconds`; rejects with the signal's own reason (a run's cancel or deadline, not a
 * generic AbortError) as soon as it aborts. The abort listener is removed when the time is up, so
 * waits on a long-lived signal leave nothing behind. Plain timers and AbortSignal only: this package
 * is below everything, browsers included, and imports no Node module.
 */
export function sleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  if (milliseconds <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Like `sleep`, for waits an abort merely cuts short: true when the time passed, false when aborted. */
export async function sleepUnlessAborted(milliseconds: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(milliseconds, signal);
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}
