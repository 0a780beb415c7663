import type { HttpToolConfig, ToolConfig } from '@runyard/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../../../../test/support/backends.ts';
import { newId } from '../core/ids.ts';
import { isUniqueViolation, type Store, type ToolRow } from './index.ts';
import {
  addAgent,
  addWorkspace,
  agentConfig,
  agentRow,
  idSequence,
  openFreshStore,
  timestamp,
  type FreshStore,
} from './test-fixtures/fresh-store.ts';

function toolConfig(overrides: Partial<HttpToolConfig> = {}): HttpToolConfig {
  return {
    kind: 'http',
    description: 'Looks things up.',
    baseUrl: 'http://127.0.0.1:9/api',
    method: 'GET',
    path: '/things/{id}',
    inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    openapi: null,
    auth: { type: 'bearer', token: { secret: 'THINGS_TOKEN' } },
    timeoutMs: 30_000,
    maxResponseBytes: 100_000,
    maxRetries: 2,
    ...overrides,
  };
}

function toolRow(name: string, overrides: Partial<ToolRow> = {}): ToolRow {
  return {
    id: newId('tool'),
    name,
    kind: 'http',
    mcpDiscovery: null,
    latestVersion: 1,
    revision: 1,
    createdAt: timestamp(),
    updatedAt: timestamp(),
    ...overrides,
  };
}

/** Inserts a tool and its version 1 in one transaction, as the tools service does. */
async function addTool(
  store: Store,
  workspaceId: string,
  row: ToolRow,
  config: ToolConfig = toolConfig(),
): Promise<ToolRow> {
  await store.transaction(async (transaction) => {
    await transaction.tools.insert(workspaceId, row);
    await transaction.tools.insertVersion({
      toolId: row.id,
      version: 1,
      contentHash: `sha256:${row.id}`,
      config,
      createdAt: row.createdAt,
    });
  });
  return row;
}

describe.each(backendNames)('store conformance on %s: tools', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let fresh: FreshStore | undefined;
  let store: Store;
  let workspaceId: string;

  beforeEach(async () => {
    if (skip) return;
    fresh = await openFreshStore(backend);
    store = fresh.store;
    workspaceId = await addWorkspace(store);
  });
  afterEach(async () => {
    await fresh?.close();
    fresh = undefined;
  });

  it.skipIf(skip)('finds a tool by name with the definition of its newest version', async () => {
    const config = toolConfig({
      openapi: {
        openapi: '3.1.0',
        paths: { '/x': { get: { operationId: 'x', 'x-note': [1, null, true] } } },
      },
      auth: {
        type: 'oauth2',
        tokenUrl: 'http://127.0.0.1:9/token',
        clientId: 'client',
        clientSecret: { secret: 'CLIENT_SECRET' },
        scopes: ['a', 'b'],
      },
    });
    const row = await addTool(store, workspaceId, toolRow('things'), config);
    expect(await store.tools.find(workspaceId, 'things')).toEqual({ ...row, config });
    expect(await store.tools.find(workspaceId, 'other')).toBeUndefined();
    const other = await addWorkspace(store, 'other');
    expect(await store.tools.find(other, 'things')).toBeUndefined();
    expect(await store.tools.findMany(workspaceId, ['things', 'nothing', 'things'])).toEqual([
      { ...row, config },
    ]);
    expect(await store.tools.findMany(workspaceId, [])).toEqual([]);
  });

  it.skipIf(skip)(
    'keeps every version immutable, newest first; the tool follows latest_version',
    async () => {
      const row = await addTool(store, workspaceId, toolRow('things'));
      const second = {
        toolId: row.id,
        version: 2,
        contentHash: 'sha256:two',
        config: toolConfig({ timeoutMs: 5000 }),
        createdAt: timestamp(10),
      };
      await store.tools.insertVersion(second);
      const duplicate: unknown = await store.tools.insertVersion(second).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isUniqueViolation(duplicate)).toBe(true);
      expect((await store.tools.listVersions(row.id)).map((version) => version.version)).toEqual([2, 1]);
      expect(await store.tools.getVersion(row.id, 2)).toEqual(second);
      expect(await store.tools.getVersion(row.id, 3)).toBeUndefined();
      // Still version 1 until the tool moves.
      expect((await store.tools.find(workspaceId, 'things'))?.config).toMatchObject({ timeoutMs: 30_000 });
      expect(
        await store.tools.update(workspaceId, row.id, 1, { latestVersion: 2, updatedAt: timestamp(10) }),
      ).toBe(true);
      expect(await store.tools.find(workspaceId, 'things')).toEqual({
        ...row,
        latestVersion: 2,
        revision: 2,
        updatedAt: timestamp(10),
        config: second.config,
      });
      // Stale: revision 1 is gone.
      expect(
        await store.tools.update(workspaceId, row.id, 1, { latestVersion: 3, updatedAt: timestamp(11) }),
      ).toBe(false);
    },
  );

  it.skipIf(skip)(
    'live names are unique per workspace; soft delete frees the name and keeps history',
    async () => {
      const row = await addTool(store, workspaceId, toolRow('things'));
      const error: unknown = await addTool(store, workspaceId, toolRow('things')).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isUniqueViolation(error)).toBe(true);
      const other = await addWorkspace(store, 'other');
      await expect(addTool(store, other, toolRow('things'))).resolves.toMatchObject({ name: 'things' });

      expect(await store.tools.softDelete(workspaceId, row.id, 2, timestamp(5))).toBe(false);
      expect(await store.tools.softDelete(workspaceId, row.id, 1, timestamp(5))).toBe(true);
      expect(await store.tools.find(workspaceId, 'things')).toBeUndefined();
      expect(await store.tools.softDelete(workspaceId, row.id, 2, timestamp(6))).toBe(false);
      expect(await store.tools.listVersions(row.id)).toHaveLength(1);
      const again = await addTool(store, workspaceId, toolRow('things'));
      expect((await store.tools.find(workspaceId, 'things'))?.id).toBe(again.id);
    },
  );

  it.skipIf(skip)('pages newest first through every live tool exactly once', async () => {
    const nextId = idSequence('tool');
    const rows = Array.from({ length: 7 }, (_, index) => toolRow(`tool-${index}`, { id: nextId() }));
    for (const row of rows.toReversed()) await addTool(store, workspaceId, row);
    await store.tools.softDelete(workspaceId, rows[3]!.id, 1, timestamp(1));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.tools.list(workspaceId, { limit: 2, cursor });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((tool) => tool.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toEqual(['tool-6', 'tool-5', 'tool-4', 'tool-2', 'tool-1', 'tool-0']);
  });

  it.skipIf(skip)('names the tools whose newest version references a secret in its auth', async () => {
    await addTool(store, workspaceId, toolRow('bearer'));
    const moved = await addTool(
      store,
      workspaceId,
      toolRow('moved'),
      toolConfig({ auth: { type: 'basic', username: 'u', password: { secret: 'THINGS_TOKEN' } } }),
    );
    // Its newest version no longer references the secret.
    await store.tools.insertVersion({
      toolId: moved.id,
      version: 2,
      contentHash: 'sha256:moved-2',
      config: toolConfig({ auth: { type: 'none' } }),
      createdAt: timestamp(1),
    });
    await store.tools.update(workspaceId, moved.id, 1, { latestVersion: 2, updatedAt: timestamp(1) });
    // A lookalike in an input schema is not a reference.
    await addTool(
      store,
      workspaceId,
      toolRow('lookalike'),
      toolConfig({
        auth: { type: 'none' },
        inputSchema: { type: 'object', properties: {}, examples: [{ secret: 'THINGS_TOKEN' }] },
      }),
    );
    const deleted = await addTool(store, workspaceId, toolRow('deleted'));
    await store.tools.softDelete(workspaceId, deleted.id, 1, timestamp(2));
    const other = await addWorkspace(store, 'other');
    await addTool(store, other, toolRow('elsewhere'));

    expect(await store.tools.namesReferencingSecret(workspaceId, 'THINGS_TOKEN')).toEqual(['bearer']);
    expect(await store.tools.namesReferencingSecret(workspaceId, 'THINGS')).toEqual([]);
  });

  it.skipIf(skip)('names the agents whose draft, staging or production version uses a tool', async () => {
    await addAgent(store, workspaceId, agentRow('direct'), agentConfig({ tools: ['echo', 'things'] }));
    await addAgent(
      store,
      workspaceId,
      agentRow('operation'),
      agentConfig({ tools: ['things.getThing', 'things.listThings', 'thingsmore'] }),
    );
    await addAgent(
      store,
      workspaceId,
      agentRow('lookalike'),
      agentConfig({ tools: ['thingsmore', 'other.things'] }),
    );
    // Uses the tool only in an old version that no environment points at.
    const old = await addAgent(store, workspaceId, agentRow('old'), agentConfig({ tools: ['things'] }));
    await store.agents.insertVersion({
      agentId: old.id,
      version: 2,
      contentHash: 'sha256:old-2',
      config: agentConfig(),
      createdAt: timestamp(1),
    });
    await store.agents.update(workspaceId, old.id, 1, { latestVersion: 2, updatedAt: timestamp(1) });
    // Uses it only in production.
    const promoted = await addAgent(
      store,
      workspaceId,
      agentRow('promoted', { productionVersion: 1 }),
      agentConfig({ tools: ['things'] }),
    );
    await store.agents.insertVersion({
      agentId: promoted.id,
      version: 2,
      contentHash: 'sha256:promoted-2',
      config: agentConfig(),
      createdAt: timestamp(1),
    });
    await store.agents.update(workspaceId, promoted.id, 1, { latestVersion: 2, updatedAt: timestamp(1) });
    const deleted = await addAgent(
      store,
      workspaceId,
      agentRow('deleted'),
      agentConfig({ tools: ['things'] }),
    );
    await store.agents.softDelete(workspaceId, deleted.id, 1, timestamp(2));

    expect(await store.tools.agentsUsing(workspaceId, 'things')).toEqual([
      { slug: 'direct', tools: ['things'] },
      { slug: 'operation', tools: ['things.getThing', 'things.listThings'] },
      { slug: 'promoted', tools: ['things'] },
    ]);
    expect(await store.tools.agentsUsing(workspaceId, 'nothing')).toEqual([]);
    const other = await addWorkspace(store, 'other');
    expect(await store.tools.agentsUsing(other, 'things')).toEqual([]);
  });
});
