import { sleep } from '@runyard/protocol';

/**
 * A provider's requestsPerMinute, per process: a sliding window of request starts per provider.
 * `windowMs` is a minute but for tests.
 */
export class ProviderRateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(private readonly windowMs = 60_000) {}

  /**
   * Resolves once a request to the provider may start (and counts it); rejects with the signal's
   * reason when it aborts first. A wait leaves no listener on the signal behind: a run's signal
   * lives as long as the run, which may wait many times.
   */
  async acquire(providerId: string, perWindow: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const now = Date.now();
      const starts = (this.windows.get(providerId) ?? []).filter((at) => now - at < this.windowMs);
      if (starts.length < perWindow) {
        starts.push(now);
        this.windows.set(providerId, starts);
        return;
      }
      this.windows.set(providerId, starts);
      const waitMs = this.windowMs - (now - (starts[0] ?? now)) + 1;
      // Rejects with the signal's own reason, and leaves no abort listener behind.
      await sleep(waitMs, signal);
    }
  }
}
