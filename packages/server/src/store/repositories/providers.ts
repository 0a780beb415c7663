import type { Kysely } from 'kysely';
import type { ModelPrice, Provider, ProviderApi, ProviderKind } from '@runyard/protocol';
import type { Database, ProviderTable } from '../schema.ts';
import { nextNumber } from '../next-number.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';
import { PreparedQuery } from './prepared-query.ts';
import type { SecretRecord } from './secrets.ts';

/** A provider and the secret its key names, if that secret exists: what a run reads to call it. */
export interface ProviderWithKey {
  provider: Provider;
  secret: SecretRecord | undefined;
}

/** The provider and its key's secret in one statement (prepared-query.ts): every run reads them. */
const getWithKey = new PreparedQuery<
  { workspaceId: string; name: string },
  ProviderTable & {
    secret_id: string | null;
    secret_ciphertext: string | null;
    secret_fingerprint: string | null;
    secret_version: number | null;
    secret_created_at: string | null;
    secret_updated_at: string | null;
  }
>(
  (db, argument) =>
    db
      .selectFrom('providers')
      .leftJoin('secrets', (join) =>
        join
          .onRef('secrets.workspace_id', '=', 'providers.workspace_id')
          .onRef('secrets.name', '=', 'providers.api_key_secret'),
      )
      .selectAll('providers')
      .select([
        'secrets.id as secret_id',
        'secrets.ciphertext as secret_ciphertext',
        'secrets.fingerprint as secret_fingerprint',
        'secrets.version as secret_version',
        'secrets.created_at as secret_created_at',
        'secrets.updated_at as secret_updated_at',
      ])
      .where('providers.workspace_id', '=', argument('workspaceId'))
      .where('providers.name', '=', argument('name')),
  ['workspaceId', 'name'],
);

const toProvider = (row: ProviderTable): Provider => ({
  id: row.id,
  name: row.name,
  number: row.number,
  kind: row.kind as ProviderKind,
  baseUrl: row.base_url,
  apiKey: row.api_key_secret === null ? null : { secret: row.api_key_secret },
  models: parseJson<string[]>(row.models),
  requestsPerMinute: row.requests_per_minute,
  ...readOptions(row.kind, row.options),
  builtIn: row.built_in === 1,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toRow = (workspaceId: string, provider: Provider): ProviderTable => ({
  id: provider.id,
  workspace_id: workspaceId,
  name: provider.name,
  number: provider.number,
  kind: provider.kind,
  base_url: provider.baseUrl,
  api_key_secret: provider.apiKey?.secret ?? null,
  models: JSON.stringify(provider.models),
  requests_per_minute: provider.requestsPerMinute,
  options: JSON.stringify({
    ...(provider.api !== null && { api: provider.api }),
    ...(Object.keys(provider.prices).length > 0 && { prices: provider.prices }),
  }),
  built_in: provider.builtIn ? 1 : 0,
  created_at: provider.createdAt,
  updated_at: provider.updatedAt,
});

/** The `options` column; rows from before migration 0005 hold `{}`: chat completions, built-in prices. */
function readOptions(kind: string, text: string): Pick<Provider, 'api' | 'prices'> {
  const options = parseJson<{ api?: ProviderApi; prices?: Record<string, ModelPrice> }>(text);
  return { api: options.api ?? (kind === 'openai' ? 'chat' : null), prices: options.prices ?? {} };
}

/** A provider before it is stored: its `number` is assigned on insert unless given. */
export type NewProvider = Omit<Provider, 'number'> & { number?: number };

export class ProviderRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * `number` is the workspace's highest plus one unless given. Two concurrent creates can pick the
   * same one: the (workspace_id, number) unique index fails the later with a unique violation,
   * which the caller retries.
   */
  async create(workspaceId: string, provider: NewProvider): Promise<Provider> {
    const created: Provider = {
      ...provider,
      number: provider.number ?? (await nextNumber(this.db, 'providers', 'number', workspaceId)),
    };
    await this.db.insertInto('providers').values(toRow(workspaceId, created)).execute();
    return created;
  }

  async getByNumber(workspaceId: string, number: number): Promise<Provider | undefined> {
    const row = await this.db
      .selectFrom('providers')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('number', '=', number)
      .executeTakeFirst();
    return row && toProvider(row);
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

  /** The provider by name with its key's secret (undefined when it has no key or the secret is gone). */
  async getWithKey(workspaceId: string, name: string): Promise<ProviderWithKey | undefined> {
    const row = await getWithKey.executeTakeFirst(this.db, { workspaceId, name });
    if (row === undefined) return undefined;
    const {
      secret_id: secretId,
      secret_ciphertext: ciphertext,
      secret_fingerprint: fingerprint,
      secret_version: version,
      secret_created_at: createdAt,
      secret_updated_at: updatedAt,
      ...provider
    } = row;
    const secret =
      secretId === null ||
      ciphertext === null ||
      fingerprint === null ||
      version === null ||
      createdAt === null ||
      updatedAt === null ||
      row.api_key_secret === null
        ? undefined
        : { id: secretId, name: row.api_key_secret, ciphertext, fingerprint, version, createdAt, updatedAt };
    return { provider: toProvider(provider), secret };
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
      // The number changes only when asked (a Make client's connection id is kept as it is); a
      // number another provider of the workspace has fails as a unique violation.
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
