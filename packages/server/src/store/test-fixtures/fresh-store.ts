import type { AgentConfig, ApiKey, Provider } from '@runyard/protocol';
import { createBackend, type Backend, type BackendName } from '../../../../../test/support/backends.ts';
import { newId } from '../../core/ids.ts';
import { migrate, openDatabase, Store, type AgentRow, type DatabaseHandle } from '../index.ts';
import type { SecretRecord } from '../repositories/secrets.ts';

export interface FreshStore {
  store: Store;
  handle: DatabaseHandle;
  backend: Backend;
  /** Closes the connection and deletes the database (SQLite folder or PostgreSQL schema). */
  close(): Promise<void>;
}

/** A migrated, empty database of the named kind, with a Store over it. */
export async function openFreshStore(name: BackendName): Promise<FreshStore> {
  const backend = await createBackend(name);
  const handle = await openDatabase({ databaseUrl: backend.databaseUrl, dataDir: backend.dataDir });
  await migrate(handle);
  return {
    store: new Store(handle.db),
    handle,
    backend,
    close: async () => {
      await handle.close();
      await backend.cleanup();
    },
  };
}

/** A fixed instant plus `offsetSeconds`, as ISO-8601 UTC with milliseconds. */
export function timestamp(offsetSeconds = 0): string {
  return new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678) + offsetSeconds * 1000).toISOString();
}

/** Ids minted at strictly increasing instants, so their order is known. */
export function idSequence(kind: Parameters<typeof newId>[0], start = Date.UTC(2024, 0, 1)) {
  let now = start;
  return () => {
    now += 1;
    return newId(kind, now);
  };
}

export async function addWorkspace(store: Store, name = 'team'): Promise<string> {
  const workspace = await store.workspaces.create({ id: newId('workspace'), name, createdAt: timestamp() });
  return workspace.id;
}

export function apiKeyInput(workspaceId: string, overrides: Partial<ApiKey> & { keyHash?: string } = {}) {
  return {
    id: newId('apiKey'),
    workspaceId,
    name: 'ci',
    prefix: 'ry_abcdefg',
    scopes: ['read', 'write'] as ApiKey['scopes'],
    createdAt: timestamp(),
    lastUsedAt: null,
    expiresAt: null,
    revokedAt: null,
    keyHash: `hash-${newId('apiKey')}`,
    ...overrides,
  };
}

export function secretInput(name: string, overrides: Partial<SecretRecord> = {}): SecretRecord {
  return {
    id: newId('secret'),
    name,
    ciphertext: `v1.cipher-of-${name}`,
    fingerprint: `fp_${name}`,
    version: 1,
    createdAt: timestamp(),
    updatedAt: timestamp(),
    ...overrides,
  };
}

let providerNumber = 0;

export function providerInput(name: string, overrides: Partial<Provider> = {}): Provider {
  providerNumber += 1;
  return {
    id: newId('provider'),
    name,
    number: providerNumber,
    kind: 'openai-compatible',
    baseUrl: 'http://127.0.0.1:9999/v1',
    apiKey: { secret: 'OPENAI_KEY' },
    models: ['gpt-x', 'gpt-y'],
    requestsPerMinute: 60,
    api: null,
    prices: {},
    builtIn: false,
    createdAt: timestamp(),
    updatedAt: timestamp(),
    ...overrides,
  };
}

export function agentConfig(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    model: 'playground/playground',
    instructions: '',
    tools: [],
    policies: [],
    outputSchema: null,
    settings: {},
    env: {},
    ...overrides,
  };
}

export function agentRow(slug: string, overrides: Partial<AgentRow> = {}): AgentRow {
  return {
    id: newId('agent'),
    slug,
    name: slug,
    description: '',
    category: null,
    subcategory: null,
    tags: [],
    status: 'active',
    metadata: {},
    latestVersion: 1,
    stagingVersion: null,
    productionVersion: null,
    revision: 1,
    createdAt: timestamp(),
    updatedAt: timestamp(),
    ...overrides,
  };
}

/** Inserts an agent and its version 1, as the agents service does, in one transaction. */
export async function addAgent(
  store: Store,
  workspaceId: string,
  row: AgentRow,
  config: AgentConfig = agentConfig(),
): Promise<AgentRow> {
  await store.transaction(async (transaction) => {
    await transaction.agents.insert(workspaceId, row);
    await transaction.agents.insertVersion({
      agentId: row.id,
      version: 1,
      contentHash: `sha256:${row.id}`,
      config,
      createdAt: row.createdAt,
    });
  });
  return row;
}
