import type { Kysely } from 'kysely';
import type { ApiKey, Scope } from '@runyard/protocol';
import type { ApiKeyTable, Database } from '../schema.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';
import { PreparedQuery } from './prepared-query.ts';

/** Every authenticated request looks its key up (prepared-query.ts). */
const findByHash = new PreparedQuery<{ keyHash: string }, ApiKeyTable>(
  (db, argument) => db.selectFrom('api_keys').selectAll().where('key_hash', '=', argument('keyHash')),
  ['keyHash'],
);

const toApiKey = (row: ApiKeyTable): ApiKey => ({
  id: row.id,
  workspaceId: row.workspace_id,
  name: row.name,
  prefix: row.prefix,
  scopes: parseJson<Scope[]>(row.scopes),
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

export class ApiKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: ApiKey & { keyHash: string }): Promise<ApiKey> {
    const row: ApiKeyTable = {
      id: input.id,
      workspace_id: input.workspaceId,
      name: input.name,
      prefix: input.prefix,
      key_hash: input.keyHash,
      scopes: JSON.stringify(input.scopes),
      created_at: input.createdAt,
      last_used_at: input.lastUsedAt,
      expires_at: input.expiresAt,
      revoked_at: input.revokedAt,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return toApiKey(row);
  }

  async findByHash(keyHash: string): Promise<ApiKey | undefined> {
    const row = await findByHash.executeTakeFirst(this.db, { keyHash });
    return row && toApiKey(row);
  }

  async get(workspaceId: string, id: string): Promise<ApiKey | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toApiKey(row);
  }

  async list(workspaceId: string, request: PageRequest): Promise<Page<ApiKey>> {
    const query = this.db.selectFrom('api_keys').selectAll().where('workspace_id', '=', workspaceId);
    return paginate(query, 'id', request, toApiKey);
  }

  async revoke(workspaceId: string, id: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
