import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../../../../test/support/backends.ts';
import { newId } from '../core/ids.ts';
import { isUniqueViolation, type Store } from './index.ts';
import {
  addAgent,
  addWorkspace,
  agentConfig,
  agentRow,
  apiKeyInput,
  openFreshStore,
  providerInput,
  secretInput,
  timestamp,
  type FreshStore,
} from './test-fixtures/fresh-store.ts';

class Planned extends Error {}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe.each(backendNames)('store conformance on %s: transactions, constraints, isolation', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let fresh: FreshStore | undefined;
  let store: Store;

  beforeEach(async () => {
    if (skip) return;
    fresh = await openFreshStore(backend);
    store = fresh.store;
  });
  afterEach(async () => {
    await fresh?.close();
    fresh = undefined;
  });

  describe('Store.transaction', () => {
    it.skipIf(skip)('commits every write and returns the result', async () => {
      const result = await store.transaction(async (transaction) => {
        const id = await addWorkspace(transaction, 'committed');
        await transaction.providers.create(id, providerInput('local'));
        await transaction.instance.set('default_workspace_id', id);
        // Reads inside the transaction see its own writes.
        expect((await transaction.providers.get(id, 'local'))?.name).toBe('local');
        return id;
      });
      expect(await store.instance.get('default_workspace_id')).toBe(result);
      expect((await store.workspaces.get(result))?.name).toBe('committed');
      expect((await store.providers.get(result, 'local'))?.name).toBe('local');
    });

    it.skipIf(skip)('a thrown error leaves no rows behind', async () => {
      const planned = new Planned('stop');
      let workspaceId = '';
      const error = await rejection(
        store.transaction(async (transaction) => {
          workspaceId = await addWorkspace(transaction, 'doomed');
          await transaction.providers.create(workspaceId, providerInput('local'));
          await transaction.secrets.create(workspaceId, secretInput('TOKEN'));
          await transaction.apiKeys.create(apiKeyInput(workspaceId, { keyHash: 'doomed' }));
          await addAgent(transaction, workspaceId, agentRow('helper', { tags: ['x'] }));
          await transaction.instance.set('default_workspace_id', workspaceId);
          await transaction.idempotency.claim(workspaceId, 'key', 'hash', timestamp());
          throw planned;
        }),
      );
      expect(error).toBe(planned);
      expect(await store.workspaces.first()).toBeUndefined();
      expect(await store.workspaces.get(workspaceId)).toBeUndefined();
      expect((await store.providers.list(workspaceId, { limit: 10 })).data).toEqual([]);
      expect((await store.secrets.list(workspaceId, { limit: 10 })).data).toEqual([]);
      expect(await store.apiKeys.findByHash('doomed')).toBeUndefined();
      expect((await store.agents.list(workspaceId, {}, { limit: 10 })).data).toEqual([]);
      expect(await store.instance.get('default_workspace_id')).toBeUndefined();
      expect((await store.idempotency.claim(workspaceId, 'key', 'hash', timestamp())).kind).toBe('claimed');
      // The next workspace still gets team 1: the rolled-back one left no trace.
      const id = await addWorkspace(store);
      expect((await store.workspaces.get(id))?.teamId).toBe(1);
    });

    it.skipIf(skip)('a failing statement rolls back the earlier writes of the same transaction', async () => {
      const workspaceId = await addWorkspace(store);
      await store.secrets.create(workspaceId, secretInput('TAKEN'));
      const error = await rejection(
        store.transaction(async (transaction) => {
          await transaction.secrets.create(workspaceId, secretInput('FIRST'));
          await transaction.secrets.create(workspaceId, secretInput('TAKEN'));
        }),
      );
      expect(isUniqueViolation(error)).toBe(true);
      expect(await store.secrets.get(workspaceId, 'FIRST')).toBeUndefined();
      expect(
        (await store.secrets.list(workspaceId, { limit: 10 })).data.map((secret) => secret.name),
      ).toEqual(['TAKEN']);
    });

    it.skipIf(skip)('a nested transaction joins the outer one', async () => {
      const planned = new Planned('outer fails after inner succeeded');
      let workspaceId = '';
      const error = await rejection(
        store.transaction(async (outer) => {
          workspaceId = await addWorkspace(outer, 'outer');
          const innerResult = await outer.transaction(async (inner) => {
            expect(inner).toBe(outer);
            // The inner transaction sees the outer one's uncommitted workspace.
            expect((await inner.workspaces.get(workspaceId))?.name).toBe('outer');
            await inner.secrets.create(workspaceId, secretInput('INNER'));
            return 'inner done';
          });
          expect(innerResult).toBe('inner done');
          expect((await outer.secrets.get(workspaceId, 'INNER'))?.name).toBe('INNER');
          throw planned;
        }),
      );
      expect(error).toBe(planned);
      // The inner transaction's write went with the outer rollback: it never committed on its own.
      expect(await store.workspaces.get(workspaceId)).toBeUndefined();
      expect(await store.secrets.get(workspaceId, 'INNER')).toBeUndefined();
    });

    it.skipIf(skip)('an inner failure caught by the outer work still commits the rest', async () => {
      const workspaceId = await store.transaction(async (outer) => {
        const id = await addWorkspace(outer);
        await outer.secrets.create(id, secretInput('KEPT'));
        await outer
          .transaction(async () => {
            throw new Planned('inner');
          })
          .catch(() => undefined);
        return id;
      });
      expect((await store.secrets.get(workspaceId, 'KEPT'))?.version).toBe(1);
    });
  });

  describe('isUniqueViolation', () => {
    it.skipIf(skip)('is true for a primary key, a unique constraint and a unique index', async () => {
      const workspaceId = await addWorkspace(store);
      const duplicateWorkspace = await rejection(
        store.workspaces.create({ id: workspaceId, name: 'again', createdAt: timestamp() }),
      );
      expect(isUniqueViolation(duplicateWorkspace)).toBe(true);

      await store.instance.set('k', 'v');
      const duplicateName = await rejection(
        (async () => {
          await store.providers.create(workspaceId, providerInput('same'));
          await store.providers.create(workspaceId, providerInput('same'));
        })(),
      );
      expect(isUniqueViolation(duplicateName)).toBe(true);

      await addAgent(store, workspaceId, agentRow('slug'));
      const duplicateSlug = await rejection(addAgent(store, workspaceId, agentRow('slug')));
      expect(isUniqueViolation(duplicateSlug)).toBe(true);
    });

    it.skipIf(skip)('is false for other database errors and for non-errors', async () => {
      // A foreign key violation: the workspace does not exist.
      const foreignKey = await rejection(store.apiKeys.create(apiKeyInput(newId('workspace'))));
      expect(foreignKey).toBeInstanceOf(Error);
      expect(isUniqueViolation(foreignKey)).toBe(false);
      const syntax = await rejection(
        fresh!.handle.db
          .selectFrom('no_such_table' as 'instance')
          .selectAll()
          .execute(),
      );
      expect(isUniqueViolation(syntax)).toBe(false);
      for (const value of [
        undefined,
        null,
        'SQLITE_CONSTRAINT_UNIQUE',
        23505,
        new Error('23505'),
        { code: 23505 },
      ]) {
        expect(isUniqueViolation(value)).toBe(false);
      }
      expect(isUniqueViolation({ code: '23505' })).toBe(true);
    });
  });

  describe('workspace isolation', () => {
    it.skipIf(skip)('no repository returns or changes another workspace’s rows', async () => {
      const first = await addWorkspace(store, 'first');
      const second = await addWorkspace(store, 'second');
      const key = apiKeyInput(first);
      await store.apiKeys.create(key);
      await store.secrets.create(first, secretInput('TOKEN'));
      await store.providers.create(first, providerInput('local', { apiKey: { secret: 'TOKEN' } }));
      const agent = await addAgent(
        store,
        first,
        agentRow('helper', { tags: ['shared'], category: 'c' }),
        agentConfig({ model: 'local/gpt-x', env: { TOKEN: { secret: 'TOKEN' } } }),
      );

      expect(await store.apiKeys.get(second, key.id)).toBeUndefined();
      expect((await store.apiKeys.list(second, { limit: 10 })).data).toEqual([]);
      expect(await store.apiKeys.revoke(second, key.id, timestamp())).toBe(false);
      expect(await store.secrets.get(second, 'TOKEN')).toBeUndefined();
      expect((await store.secrets.list(second, { limit: 10 })).data).toEqual([]);
      expect(
        await store.secrets.replaceValue(second, 'TOKEN', {
          ciphertext: 'x',
          fingerprint: 'x',
          updatedAt: timestamp(),
        }),
      ).toBeUndefined();
      expect(await store.secrets.delete(second, 'TOKEN')).toBe(false);
      expect(await store.providers.get(second, 'local')).toBeUndefined();
      expect((await store.providers.list(second, { limit: 10 })).data).toEqual([]);
      expect(await store.providers.namesUsingSecret(second, 'TOKEN')).toEqual([]);
      await store.providers.replace(
        second,
        providerInput('local', { id: (await store.providers.get(first, 'local'))!.id, models: ['hijacked'] }),
      );
      expect(await store.providers.delete(second, 'local')).toBe(false);
      expect(await store.agents.find(second, agent.id)).toBeUndefined();
      expect(await store.agents.find(second, 'helper')).toBeUndefined();
      for (const filter of [
        {},
        { tag: 'shared' },
        { category: 'c' },
        { search: 'help' },
        { status: 'active' },
      ]) {
        expect((await store.agents.list(second, filter, { limit: 10 })).data).toEqual([]);
      }
      expect(
        await store.agents.update(second, agent.id, 1, { name: 'hijacked', updatedAt: timestamp() }),
      ).toBe(false);
      expect(await store.agents.softDelete(second, agent.id, 1, timestamp())).toBe(false);
      expect(await store.agents.slugsUsingProvider(second, 'local')).toEqual([]);
      expect(await store.agents.slugsReferencingSecret(second, 'TOKEN')).toEqual([]);
      expect(
        (await store.workspaces.list({ limit: 10 }, second)).data.map((workspace) => workspace.id),
      ).toEqual([second]);

      // Workspace A is untouched.
      expect((await store.apiKeys.get(first, key.id))?.revokedAt).toBeNull();
      expect((await store.secrets.get(first, 'TOKEN'))?.version).toBe(1);
      expect((await store.providers.get(first, 'local'))?.models).toEqual(['gpt-x', 'gpt-y']);
      expect(await store.agents.find(first, agent.id)).toMatchObject({ name: 'helper', revision: 1 });
      expect(slugsOf(await store.agents.list(first, { tag: 'shared' }, { limit: 10 }))).toEqual(['helper']);
    });
  });

  describe('round trips', () => {
    it.skipIf(skip)('timestamps, numbers, booleans and JSON come back exactly as written', async () => {
      const createdAt = '1999-12-31T23:59:59.999Z';
      const workspace = await store.workspaces.create({
        id: newId('workspace'),
        name: 'Zürich 🚀',
        createdAt,
      });
      expect(await store.workspaces.get(workspace.id)).toEqual({
        id: workspace.id,
        name: 'Zürich 🚀',
        teamId: 1,
        defaultModel: null,
        createdAt,
      });
      const metadata = {
        zeta: 1,
        alpha: { nested: [1, 2.5, -3, 1e21, null, false, true, 'text'], empty: {}, list: [] },
        unicode: 'Grüße, 世界, 🚀, "quoted", back\\slash, new\nline, tab\t',
        big: Number.MAX_SAFE_INTEGER,
      };
      const config = agentConfig({
        instructions: 'Line one\nLine two — “quotes” \u0000 nul',
        outputSchema: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          required: ['a'],
        },
        settings: { temperature: 0.7, maxTokens: 4096, maxIterations: 3, timeoutMs: 60_000 },
        env: { A: '', B: { secret: 'S' } },
      });
      const row = agentRow('round-trip', {
        name: 'Ünïcode ✓',
        metadata,
        tags: ['ä', 'b c', '%', '_'],
        createdAt: '2030-01-01T00:00:00.000Z',
        updatedAt: '2030-06-15T12:34:56.789Z',
      });
      await addAgent(store, workspace.id, row, config);
      const found = await store.agents.find(workspace.id, 'round-trip');
      expect(found).toEqual({ ...row, config });
      // Key order of stored JSON is kept (it is text on both dialects).
      expect(Object.keys(found!.metadata)).toEqual(['zeta', 'alpha', 'unicode', 'big']);
      expect(typeof found!.revision).toBe('number');
      expect(typeof found!.latestVersion).toBe('number');
      expect(slugsOf(await store.agents.list(workspace.id, { tag: '%' }, { limit: 10 }))).toEqual([
        'round-trip',
      ]);
      expect(slugsOf(await store.agents.list(workspace.id, { tag: 'b c' }, { limit: 10 }))).toEqual([
        'round-trip',
      ]);

      const provider = providerInput('numbers', { requestsPerMinute: 2_000_000_000, builtIn: true });
      await store.providers.create(workspace.id, provider);
      const read = await store.providers.get(workspace.id, 'numbers');
      expect(read).toEqual(provider);
      expect(read?.builtIn).toBe(true);
      expect(typeof read?.requestsPerMinute).toBe('number');

      await store.secrets.create(workspace.id, secretInput('S', { version: 7 }));
      expect((await store.secrets.get(workspace.id, 'S'))?.version).toBe(7);
    });
  });
});

function slugsOf(page: { data: { slug: string }[] }): string[] {
  return page.data.map((agent) => agent.slug);
}
