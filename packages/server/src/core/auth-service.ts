import type { Store } from '../store/index.ts';
import { RunyardError } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { hashApiKey } from './crypto.ts';

// lastUsedAt is informational: writing it at most once a minute per key keeps reads off the write path.
const touchIntervalMs = 60_000;

/** Turns a presented API key into its caller, or throws UNAUTHENTICATED. */
export interface Authenticator {
  authenticate(presentedKey: string | undefined): Promise<Caller>;
}

export class AuthService implements Authenticator {
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly defaultWorkspaceId: string,
  ) {}

  async authenticate(presentedKey: string | undefined): Promise<Caller> {
    if (presentedKey === undefined || presentedKey === '') {
      throw new RunyardError(
        'UNAUTHENTICATED',
        'send an API key as "Authorization: Bearer <key>" or "x-api-key: <key>"',
      );
    }
    const key = await this.store.apiKeys.findByHash(hashApiKey(presentedKey));
    if (key === undefined) throw new RunyardError('UNAUTHENTICATED', 'the API key is not valid');
    if (key.revokedAt !== null) throw new RunyardError('UNAUTHENTICATED', 'the API key has been revoked');
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.now()) {
      throw new RunyardError('UNAUTHENTICATED', 'the API key has expired');
    }
    const now = Date.now();
    if (now - (this.lastTouched.get(key.id) ?? 0) >= touchIntervalMs) {
      this.lastTouched.set(key.id, now);
      await this.store.apiKeys.touch(key.id, nowIso());
    }
    return {
      keyId: key.id,
      workspaceId: key.workspaceId,
      scopes: key.scopes,
      isInstanceAdmin: key.workspaceId === this.defaultWorkspaceId && key.scopes.includes('admin'),
    };
  }
}
