import type { Kysely } from 'kysely';
import type { Provider, ProviderKind } from '@runyard/protocol';
import type { Database, ProviderTable } from '../schema.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';

const toProvider = (row: ProviderTable): Provider => ({
  id: row.id,
  name: row.name,
  kind: row.kind as ProviderKind,
  baseUrl: row.base_url,
  apiKey: row.api_key_secret === null ? null : { secret: row.api_key_secret },
  models: parseJson<string[]>(row.models),
  requestsPerMinute: row.requests_per_minute,
  builtIn: row.built_in === 1,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toRow = (workspaceId: string, provider: Provider): ProviderTable => ({
  id: provider.id,
  workspace_id: workspaceId,
  name: provider.name,
  kind: provider.kind,
  base_url: provider.baseUrl,
  api_key_secret: provider.apiKey?.secret ?? null,
  models: JSON.stringify(provider.models),
  requests_per_minute: provider.requestsPerMinute,
  built_in: provider.builtIn ? 1 : 0,
  created_at: provider.createdAt,
  updated_at: provider.updatedAt,
});

export class ProviderRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(workspaceId: string, provider: Provider): Promise<Provider> {
    await this.db.insertInto('providers').values(toRow(workspaceId, provider)).execute();
    return provider;
  }

  async get(workspaceId: string, name: string): Promise<Provider | undefined> {
    const row = await this.db
      .selectFrom('providers')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toProvider(row);
  }

  async list(workspaceId: string, request: PageRequest): Promise<Page<Provider>> {
    const query = this.db.selectFrom('providers').selectAll().where('workspace_id', '=', workspaceId);
    return paginate(query, 'id', request, toProvider);
  }

  async replace(workspaceId: string, provider: Provider): Promise<Provider> {
    const {
      id: _id,
      workspace_id: _workspace,
      created_at: _created,
      ...changes
    } = toRow(workspaceId, provider);
    await this.db
      .updateTable('providers')
      .set(changes)
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', provider.id)
      .execute();
    return provider;
  }

  async delete(workspaceId: string, name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('providers')
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async namesUsingSecret(workspaceId: string, secretName: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('providers')
      .select('name')
      .where('workspace_id', '=', workspaceId)
      .where('api_key_secret', '=', secretName)
      .execute();
    return rows.map((row) => row.name);
  }
}
