export interface IssuedToken {
  accessToken: string;
  /** Seconds the token lives, as the token endpoint said (`expires_in`); undefined when it did not say. */
  expiresInSeconds: number | undefined;
}

interface CachedToken {
  accessToken: string;
  /** When to stop using it: a little before it expires, so a call never starts with a dying token. */
  refreshAtMs: number;
}

/** Used when the token endpoint gives no `expires_in`: a 401 refetches earlier if the token dies. */
const assumedLifetimeSeconds = 300;
const maximumEntries = 1000;

/**
 * OAuth2 client-credentials tokens, cached per process until shortly before they expire. One
 * request per key is in flight at a time: concurrent calls share it. Keys include a hash of the
 * client secret, so rotating the secret fetches a new token.
 */
export class OAuth2TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(key: string, fetchToken: () => Promise<IssuedToken>): Promise<string> {
    const cached = this.tokens.get(key);
    if (cached !== undefined && this.now() < cached.refreshAtMs) return cached.accessToken;
    let request = this.pending.get(key);
    if (request === undefined) {
      request = this.fetchInto(key, fetchToken);
      this.pending.set(key, request);
    }
    return (await request).accessToken;
  }

  /** Forgets the token if it is still the cached one (a 401 proved it dead); the next get fetches. */
  invalidate(key: string, accessToken: string): void {
    if (this.tokens.get(key)?.accessToken === accessToken) this.tokens.delete(key);
  }

  private async fetchInto(key: string, fetchToken: () => Promise<IssuedToken>): Promise<CachedToken> {
    try {
      const issued = await fetchToken();
      const lifetimeMs = (issued.expiresInSeconds ?? assumedLifetimeSeconds) * 1000;
      // Refresh early by a tenth of the lifetime, at most 30 s.
      const token = {
        accessToken: issued.accessToken,
        refreshAtMs: this.now() + lifetimeMs - Math.min(30_000, lifetimeMs / 10),
      };
      this.tokens.delete(key);
      this.tokens.set(key, token);
      // Oldest first: a Map iterates in insertion order.
      for (const oldest of this.tokens.keys()) {
        if (this.tokens.size <= maximumEntries) break;
        this.tokens.delete(oldest);
      }
      return token;
    } finally {
      this.pending.delete(key);
    }
  }
}
