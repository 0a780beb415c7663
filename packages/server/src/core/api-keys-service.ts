import type { ApiKey, CreateApiKey, CreatedApiKey, Scope } from '@runyard/protocol';
import type { Page, PageRequest, Store } from '../store/index.ts';
import { invalidField, notFound } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { apiKeyPrefix, generateApiKey, hashApiKey } from './crypto.ts';
import { newId } from './ids.ts';

export class ApiKeysService {
  constructor(private readonly store: Store) {}

  async create(caller: Caller, input: CreateApiKey): Promise<CreatedApiKey> {
    const workspaceId = input.workspaceId ?? caller.workspaceId;
    // Another workspace exists for this caller only if it administers the instance.
    const visible = workspaceId === caller.workspaceId || caller.isInstanceAdmin;
    if (!visible || (await this.store.workspaces.get(workspaceId)) === undefined) {
      throw notFound('workspace', workspaceId);
    }
    if (input.expiresAt !== undefined && Date.parse(input.expiresAt) <= Date.now()) {
      throw invalidField('expiresAt', 'must be in the future');
    }
    return issueApiKey(this.store, {
      workspaceId,
      name: input.name,
      scopes: input.scopes,
      expiresAt: input.expiresAt === undefined ? null : new Date(input.expiresAt).toISOString(),
    });
  }

  async list(caller: Caller, page: PageRequest): Promise<Page<ApiKey>> {
    return this.store.apiKeys.list(caller.workspaceId, page);
  }

  async get(caller: Caller, id: string): Promise<ApiKey> {
    const key = await this.store.apiKeys.get(caller.workspaceId, id);
    if (key === undefined) throw notFound('api key', id);
    return key;
  }

  /** Idempotent: revoking a revoked key succeeds; an unknown key is a 404. */
  async revoke(caller: Caller, id: string): Promise<void> {
    await this.get(caller, id);
    await this.store.apiKeys.revoke(caller.workspaceId, id, nowIso());
  }
}

export async function issueApiKey(
  store: Store,
  input: { workspaceId: string; name: string; scopes: Scope[]; expiresAt: string | null; key?: string },
): Promise<CreatedApiKey> {
  const key = input.key ?? generateApiKey();
  const record = await store.apiKeys.create({
    id: newId('apiKey'),
    workspaceId: input.workspaceId,
    name: input.name,
    prefix: apiKeyPrefix(key),
    scopes: input.scopes,
    createdAt: nowIso(),
    lastUsedAt: null,
    expiresAt: input.expiresAt,
    revokedAt: null,
    keyHash: hashApiKey(key),
  });
  return { ...record, key };
}
