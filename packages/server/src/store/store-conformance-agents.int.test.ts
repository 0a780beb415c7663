import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../../../../test/support/backends.ts';
import { isUniqueViolation, type Store } from './index.ts';
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

describe.each(backendNames)('store conformance on %s: agents', (backend) => {
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

  const slugsOf = (page: { data: { slug: string }[] }) => page.data.map((agent) => agent.slug);

  describe('insert, find, versions', () => {
    it.skipIf(skip)('finds by id and by slug, with the config of the newest version', async () => {
      const config = agentConfig({
        instructions: 'Be brief.',
        tools: ['search'],
        policies: ['no-pii'],
        outputSchema: { type: 'object', properties: { answer: { type: 'string' } } },
        settings: { temperature: 0.5, maxTokens: 100 },
        env: { PLAIN: 'value', TOKEN: { secret: 'API_TOKEN' } },
      });
      const row = agentRow('helper', {
        name: 'Helper',
        description: 'Helps.',
        category: 'support',
        subcategory: 'tier-1',
        tags: ['b', 'a'],
        status: 'paused',
        metadata: { owner: 'ops', nested: { level: 2, list: [1, 'two', null, true] } },
      });
      await addAgent(store, workspaceId, row, config);
      const expected = { ...row, config };
      expect(await store.agents.find(workspaceId, row.id)).toEqual(expected);
      expect(await store.agents.find(workspaceId, 'helper')).toEqual(expected);
      expect(await store.agents.find(workspaceId, 'unknown')).toBeUndefined();
      expect(await store.agents.find(workspaceId, 'agt_00000000000000000000000000')).toBeUndefined();
    });

    it.skipIf(skip)('lists versions newest first and gets one', async () => {
      const row = await addAgent(
        store,
        workspaceId,
        agentRow('helper'),
        agentConfig({ instructions: 'one' }),
      );
      const second = {
        agentId: row.id,
        version: 2,
        contentHash: 'sha256:two',
        config: agentConfig({ instructions: 'two', model: 'local/gpt-x' }),
        createdAt: timestamp(10),
      };
      await store.agents.insertVersion(second);
      expect(await store.agents.getVersion(row.id, 2)).toEqual(second);
      expect(await store.agents.getVersion(row.id, 3)).toBeUndefined();
      const versions = await store.agents.listVersions(row.id);
      expect(versions.map((version) => version.version)).toEqual([2, 1]);
      expect(versions[1]).toEqual({
        agentId: row.id,
        version: 1,
        contentHash: `sha256:${row.id}`,
        config: agentConfig({ instructions: 'one' }),
        createdAt: row.createdAt,
      });
      expect(await store.agents.listVersions('agt_unknown')).toEqual([]);

      const duplicate: unknown = await store.agents.insertVersion(second).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isUniqueViolation(duplicate)).toBe(true);

      // find follows latest_version.
      expect(
        await store.agents.update(workspaceId, row.id, 1, { latestVersion: 2, updatedAt: timestamp(10) }),
      ).toBe(true);
      expect((await store.agents.find(workspaceId, 'helper'))?.config.instructions).toBe('two');
    });

    it.skipIf(skip)('live slugs are unique per workspace', async () => {
      await addAgent(store, workspaceId, agentRow('helper'));
      const error: unknown = await addAgent(store, workspaceId, agentRow('helper')).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isUniqueViolation(error)).toBe(true);
      const other = await addWorkspace(store, 'other');
      await expect(addAgent(store, other, agentRow('helper'))).resolves.toMatchObject({ slug: 'helper' });
    });
  });

  describe('update and soft delete', () => {
    it.skipIf(skip)('applies a change at the expected revision and refuses a stale one', async () => {
      const row = await addAgent(store, workspaceId, agentRow('helper', { tags: ['old'] }));
      const change = {
        name: 'Renamed',
        description: 'New text',
        category: 'sales',
        subcategory: 'emea',
        tags: ['new', 'fresh'],
        status: 'archived' as const,
        metadata: { k: 'v' },
        stagingVersion: 1,
        productionVersion: 1,
        updatedAt: timestamp(60),
      };
      expect(await store.agents.update(workspaceId, row.id, 1, change)).toBe(true);
      const { updatedAt, ...descriptive } = change;
      expect(await store.agents.find(workspaceId, row.id)).toEqual({
        ...row,
        ...descriptive,
        updatedAt,
        revision: 2,
        config: agentConfig(),
      });
      // Stale: revision 1 is gone.
      expect(
        await store.agents.update(workspaceId, row.id, 1, { name: 'Lost', updatedAt: timestamp(70) }),
      ).toBe(false);
      expect((await store.agents.find(workspaceId, row.id))?.name).toBe('Renamed');
      // Tags were replaced, not appended.
      expect(slugsOf(await store.agents.list(workspaceId, { tag: 'old' }, { limit: 10 }))).toEqual([]);
      expect(slugsOf(await store.agents.list(workspaceId, { tag: 'fresh' }, { limit: 10 }))).toEqual([
        'helper',
      ]);
    });

    it.skipIf(skip)('a partial change keeps the other fields; nulls clear environments', async () => {
      const row = await addAgent(
        store,
        workspaceId,
        agentRow('helper', { category: 'keep', tags: ['keep'], stagingVersion: 1, productionVersion: 1 }),
      );
      expect(
        await store.agents.update(workspaceId, row.id, 1, { stagingVersion: null, updatedAt: timestamp(1) }),
      ).toBe(true);
      const found = await store.agents.find(workspaceId, row.id);
      expect(found).toMatchObject({
        category: 'keep',
        tags: ['keep'],
        stagingVersion: null,
        productionVersion: 1,
        revision: 2,
        updatedAt: timestamp(1),
      });
      expect(await store.agents.update(workspaceId, row.id, 2, { tags: [], updatedAt: timestamp(2) })).toBe(
        true,
      );
      expect((await store.agents.find(workspaceId, row.id))?.tags).toEqual([]);
      expect(slugsOf(await store.agents.list(workspaceId, { tag: 'keep' }, { limit: 10 }))).toEqual([]);
    });

    it.skipIf(skip)('soft delete hides the agent and frees its slug', async () => {
      const row = await addAgent(store, workspaceId, agentRow('helper', { tags: ['t'] }));
      expect(await store.agents.softDelete(workspaceId, row.id, 2, timestamp(5))).toBe(false);
      expect(await store.agents.softDelete(workspaceId, row.id, 1, timestamp(5))).toBe(true);
      expect(await store.agents.find(workspaceId, row.id)).toBeUndefined();
      expect(await store.agents.find(workspaceId, 'helper')).toBeUndefined();
      expect((await store.agents.list(workspaceId, {}, { limit: 10 })).data).toEqual([]);
      expect((await store.agents.list(workspaceId, { tag: 't' }, { limit: 10 })).data).toEqual([]);
      expect(await store.agents.softDelete(workspaceId, row.id, 2, timestamp(6))).toBe(false);
      expect(await store.agents.update(workspaceId, row.id, 2, { name: 'x', updatedAt: timestamp(6) })).toBe(
        false,
      );
      // Versions of a deleted agent stay readable by id (history), and the slug is free again.
      expect(await store.agents.listVersions(row.id)).toHaveLength(1);
      const again = await addAgent(store, workspaceId, agentRow('helper'));
      expect((await store.agents.find(workspaceId, 'helper'))?.id).toBe(again.id);
    });
  });

  describe('list', () => {
    it.skipIf(skip)('pages newest first through every agent exactly once', async () => {
      const nextId = idSequence('agent');
      const rows = Array.from({ length: 7 }, (_, index) => agentRow(`agent-${index}`, { id: nextId() }));
      for (const row of rows.toReversed()) await addAgent(store, workspaceId, row);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await store.agents.list(workspaceId, {}, { limit: 3, cursor });
        pages += 1;
        seen.push(...slugsOf(page));
        if (page.nextCursor === null) break;
        expect(page.nextCursor).toBe(page.data.at(-1)?.id);
        cursor = page.nextCursor;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(rows.map((row) => row.slug).toReversed());
      // Filters and pagination compose.
      const first = await store.agents.list(workspaceId, { status: 'active' }, { limit: 6 });
      expect(first.data).toHaveLength(6);
      const rest = await store.agents.list(
        workspaceId,
        { status: 'active' },
        { limit: 6, cursor: first.nextCursor! },
      );
      expect(slugsOf(rest)).toEqual(['agent-0']);
      expect(rest.nextCursor).toBeNull();
    });

    it.skipIf(skip)('filters by tag, category and status, alone and together', async () => {
      const nextId = idSequence('agent');
      const add = (slug: string, overrides: Parameters<typeof agentRow>[1]) =>
        addAgent(store, workspaceId, agentRow(slug, { id: nextId(), ...overrides }));
      await add('one', { tags: ['red', 'blue'], category: 'sales', status: 'active' });
      await add('two', { tags: ['red'], category: 'support', status: 'paused' });
      await add('three', { tags: ['blue'], category: 'sales', status: 'paused' });
      await add('four', { tags: [], category: null, status: 'archived' });
      const list = async (filter: Parameters<Store['agents']['list']>[1]) =>
        slugsOf(await store.agents.list(workspaceId, filter, { limit: 50 }));
      expect(await list({})).toEqual(['four', 'three', 'two', 'one']);
      expect(await list({ tag: 'red' })).toEqual(['two', 'one']);
      expect(await list({ tag: 'Red' })).toEqual([]);
      expect(await list({ tag: 'green' })).toEqual([]);
      expect(await list({ category: 'sales' })).toEqual(['three', 'one']);
      expect(await list({ status: 'paused' })).toEqual(['three', 'two']);
      expect(await list({ status: 'archived' })).toEqual(['four']);
      expect(await list({ tag: 'blue', category: 'sales', status: 'paused' })).toEqual(['three']);
      expect(await list({ tag: 'red', category: 'sales' })).toEqual(['one']);
    });

    it.skipIf(skip)('searches name (any case) and slug; % and _ match only themselves', async () => {
      const nextId = idSequence('agent');
      const add = (slug: string, name: string) =>
        addAgent(store, workspaceId, agentRow(slug, { id: nextId(), name }));
      await add('discount', '50% Off Bot');
      await add('fifty', '50 Percent Bot');
      await add('under-score', 'Snake_Case Helper');
      await add('no-underscore', 'SnakeXCase Helper');
      await add('backslash', 'Path\\To Helper');
      await add('plain-bot', 'Plain');
      const search = async (text: string) =>
        slugsOf(await store.agents.list(workspaceId, { search: text }, { limit: 50 })).sort();
      expect(await search('bot')).toEqual(['discount', 'fifty', 'plain-bot']);
      expect(await search('BOT')).toEqual(['discount', 'fifty', 'plain-bot']);
      expect(await search('50%')).toEqual(['discount']);
      expect(await search('%')).toEqual(['discount']);
      expect(await search('snake_case')).toEqual(['under-score']);
      expect(await search('_')).toEqual(['under-score']);
      expect(await search('\\')).toEqual(['backslash']);
      expect(await search('path\\to')).toEqual(['backslash']);
      expect(await search('no-under')).toEqual(['no-underscore']);
      expect(await search('nothing')).toEqual([]);
    });
  });

  describe('references', () => {
    it.skipIf(skip)(
      'slugsUsingProvider looks at the draft, staging and production versions of live agents',
      async () => {
        const nextId = idSequence('agent');
        const local = agentConfig({ model: 'local/gpt-x' });
        const other = agentConfig({ model: 'openai/gpt-4o' });
        // Draft uses local.
        await addAgent(store, workspaceId, agentRow('draft', { id: nextId() }), local);
        // Only an old version (neither draft, staging nor production) used local.
        const old = await addAgent(store, workspaceId, agentRow('old', { id: nextId() }), local);
        await store.agents.insertVersion({
          agentId: old.id,
          version: 2,
          contentHash: 'sha256:b',
          config: other,
          createdAt: timestamp(),
        });
        await store.agents.update(workspaceId, old.id, 1, { latestVersion: 2, updatedAt: timestamp(1) });
        // Production still points to version 1 on local.
        const production = await addAgent(
          store,
          workspaceId,
          agentRow('production', { id: nextId() }),
          local,
        );
        await store.agents.insertVersion({
          agentId: production.id,
          version: 2,
          contentHash: 'sha256:c',
          config: other,
          createdAt: timestamp(),
        });
        await store.agents.update(workspaceId, production.id, 1, {
          latestVersion: 2,
          productionVersion: 1,
          updatedAt: timestamp(1),
        });
        // Deleted and foreign agents do not count.
        const deleted = await addAgent(store, workspaceId, agentRow('deleted', { id: nextId() }), local);
        await store.agents.softDelete(workspaceId, deleted.id, 1, timestamp(2));
        const foreign = await addWorkspace(store, 'foreign');
        await addAgent(store, foreign, agentRow('foreign', { id: nextId() }), local);
        // A provider whose name is a prefix of another's.
        await addAgent(
          store,
          workspaceId,
          agentRow('localhost', { id: nextId() }),
          agentConfig({ model: 'localhost/m' }),
        );

        expect((await store.agents.slugsUsingProvider(workspaceId, 'local')).sort()).toEqual([
          'draft',
          'production',
        ]);
        expect((await store.agents.slugsUsingProvider(workspaceId, 'openai')).sort()).toEqual([
          'old',
          'production',
        ]);
        expect(await store.agents.slugsUsingProvider(workspaceId, 'localhost')).toEqual(['localhost']);
        expect(await store.agents.slugsUsingProvider(workspaceId, 'none')).toEqual([]);
        expect(await store.agents.slugsUsingProvider(foreign, 'local')).toEqual(['foreign']);
      },
    );

    it.skipIf(skip)(
      'slugsReferencingSecret finds env secret references in the newest version only',
      async () => {
        const nextId = idSequence('agent');
        const add = (slug: string, env: Record<string, string | { secret: string }>) =>
          addAgent(store, workspaceId, agentRow(slug, { id: nextId() }), agentConfig({ env }));
        await add('uses', { TOKEN: { secret: 'API_KEY' } });
        await add('uses-too', { OTHER: 'plain', ALSO: { secret: 'API_KEY' } });
        await add('plain-value', { TOKEN: 'API_KEY' });
        await add('lookalike', { TOKEN: '{"secret":"API_KEY"}' });
        await add('wildcard', { TOKEN: { secret: 'APIXKEY' } });
        const moved = await add('moved-away', { TOKEN: { secret: 'API_KEY' } });
        await store.agents.insertVersion({
          agentId: moved.id,
          version: 2,
          contentHash: 'sha256:moved',
          config: agentConfig({ env: { TOKEN: { secret: 'NEW_KEY' } } }),
          createdAt: timestamp(),
        });
        await store.agents.update(workspaceId, moved.id, 1, { latestVersion: 2, updatedAt: timestamp(1) });
        const deleted = await add('deleted', { TOKEN: { secret: 'API_KEY' } });
        await store.agents.softDelete(workspaceId, deleted.id, 1, timestamp(2));
        const foreign = await addWorkspace(store, 'foreign');
        await addAgent(
          store,
          foreign,
          agentRow('foreign', { id: nextId() }),
          agentConfig({ env: { TOKEN: { secret: 'API_KEY' } } }),
        );

        expect((await store.agents.slugsReferencingSecret(workspaceId, 'API_KEY')).sort()).toEqual([
          'uses',
          'uses-too',
        ]);
        expect(await store.agents.slugsReferencingSecret(workspaceId, 'APIXKEY')).toEqual(['wildcard']);
        expect(await store.agents.slugsReferencingSecret(workspaceId, 'NEW_KEY')).toEqual(['moved-away']);
        expect(await store.agents.slugsReferencingSecret(workspaceId, 'api_key')).toEqual([]);
        expect(await store.agents.slugsReferencingSecret(workspaceId, 'API')).toEqual([]);
        expect(await store.agents.slugsReferencingSecret(foreign, 'API_KEY')).toEqual(['foreign']);
      },
    );
  });
});
