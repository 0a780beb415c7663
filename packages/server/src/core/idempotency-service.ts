import { RunyardError } from '../shared/errors.ts';
import type { Store } from '../store/index.ts';
import { nowIso } from './clock.ts';
import { canonicalJson, sha256Hex, type SecretBox } from './crypto.ts';

export interface StoredResponse {
  status: number;
  body: unknown;
}

const keyPattern = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on POST: the first request with a key runs and its response is stored
 * (encrypted: it may hold a freshly issued API key); a repeat with the same body gets that response
 * again, a repeat with another body a 422. A request that fails releases its key, so it can be retried.
 */
export class IdempotencyService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
  ) {}

  async run(
    workspaceId: string,
    key: string,
    request: { method: string; path: string; body: unknown },
    execute: () => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    if (!keyPattern.test(key)) {
      throw new RunyardError('VALIDATION_FAILED', 'Idempotency-Key must be 1–255 visible ASCII characters', {
        location: 'headers',
        issues: [
          {
            path: 'Idempotency-Key',
            message: 'must be 1–255 visible ASCII characters',
            code: 'invalid_format',
          },
        ],
      });
    }
    const requestHash = sha256Hex(canonicalJson(request));
    const claim = await this.store.idempotency.claim(workspaceId, key, requestHash, nowIso());
    if (claim.kind === 'existing') {
      const { record } = claim;
      if (record.request_hash !== requestHash) {
        throw new RunyardError(
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was already used for a different request',
          { idempotencyKey: key },
        );
      }
      if (record.status_code === null || record.response_body === null) {
        throw new RunyardError(
          'IDEMPOTENCY_IN_PROGRESS',
          'a request with this Idempotency-Key is still running',
          {
            idempotencyKey: key,
          },
        );
      }
      const body = JSON.parse(
        this.box.decrypt(record.response_body, associatedData(workspaceId, key)),
      ) as unknown;
      return { status: record.status_code, body, replayed: true };
    }
    let response: StoredResponse;
    try {
      response = await execute();
    } catch (error) {
      await this.store.idempotency.release(workspaceId, key);
      throw error;
    }
    const sealed = this.box.encrypt(JSON.stringify(response.body ?? null), associatedData(workspaceId, key));
    await this.store.idempotency.complete(workspaceId, key, response.status, sealed);
    return { ...response, replayed: false };
  }
}

const associatedData = (workspaceId: string, key: string) => `idempotency/${workspaceId}/${key}`;
