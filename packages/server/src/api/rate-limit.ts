import type { Authenticator } from '../core/auth-service.ts';
import { RunyardError } from '../shared/errors.ts';

/**
 * Per API key, per process: a fixed one-minute window. Cheap (one map lookup) and enough to stop
 * a runaway client; behind a load balancer each process enforces its own share.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();

  constructor(private readonly perMinute: number) {}

  check(keyId: string, now: number = Date.now()): void {
    if (this.perMinute === 0) return;
    let window = this.windows.get(keyId);
    if (window === undefined || now - window.startedAt >= 60_000) {
      if (this.windows.size > 10_000) this.evict(now);
      window = { startedAt: now, count: 0 };
      this.windows.set(keyId, window);
    }
    window.count += 1;
    if (window.count > this.perMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil((window.startedAt + 60_000 - now) / 1000));
      throw new RunyardError(
        'RATE_LIMITED',
        `more than ${this.perMinute} requests a minute for this API key`,
        {
          limitPerMinute: this.perMinute,
          retryAfterSeconds,
        },
      );
    }
  }

  private evict(now: number): void {
    for (const [key, window] of this.windows) if (now - window.startedAt >= 60_000) this.windows.delete(key);
  }
}

/** Authentication that also counts the request against its key's limit: what every surface uses. */
export function rateLimitedAuthenticator(auth: Authenticator, limiter: RateLimiter): Authenticator {
  return {
    authenticate: async (presentedKey) => {
      const caller = await auth.authenticate(presentedKey);
      limiter.check(caller.keyId);
      return caller;
    },
  };
}
