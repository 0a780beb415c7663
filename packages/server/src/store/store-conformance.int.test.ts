import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../../../../test/support/backends.ts';
import { isUniqueViolation, type Store } from './index.ts';
import {
  addWorkspace,
  apiKeyInput,
  idSequence,
  openFreshStore,
  providerInput,
  secretInput,
  timestamp,
  type FreshStore,
} from './test-fixtures/fresh-store.ts';

/** Every page of a keyset-paginated list, following cursors to the end. */
async function allPages<T>(
  fetch: (cursor: string | undefined) => Promise<{ data: T[]; nextCursor: string | null }>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fetch(cursor);
    pages.push(page.data);
    if (page.nextCursor === null) return pages;
    cursor = page.nextCursor;
  }
}

describe.each(backendNames)('store conformance on %s: workspaces, keys, secrets, providers', (backend) => {
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

  describe('workspaces', () => {
    it.skipIf(skip)('numbers teams 1, 2, 3 … in creation order and reads them back', async () => {
      expect(await store.workspaces.first()).toBeUndefined();
      const nextId = idSequence('workspace');
      const ids = [nextId(), nextId(), nextId()];
      const created = [];
      for (const [index, id] of ids.entries()) {
        created.push(
          await store.workspaces.create({ id, name: `team ${index}`, createdAt: timestamp(index) }),
        );
      }
      expect(created.map((workspace) => workspace.teamId)).toEqual([1, 2, 3]);
      expect(created[0]).toEqual({
        id: ids[0],
        name: 'team 0',
        teamId: 1,
        defaultModel: null,
        createdAt: timestamp(0),
      });
      for (const workspace of created) expect(await store.workspaces.get(workspace.id)).toEqual(workspace);
      expect(await store.workspaces.get(nextId())).toBeUndefined();
    });

    it.skipIf(skip)('first() is the lowest team, whatever the ids', async () => {
      const nextId = idSequence('workspace');
      const older = nextId();
      const newer = nextId();
      // The newer id is created first, so it gets team 1.
      const one = await store.workspaces.create({ id: newer, name: 'one', createdAt: timestamp() });
      await store.workspaces.create({ id: older, name: 'two', createdAt: timestamp() });
      expect(await store.workspaces.first()).toEqual(one);
      expect(one.teamId).toBe(1);
    });

    it.skipIf(skip)('lists newest first across pages, and narrows to one id', async () => {
      const nextId = idSequence('workspace');
      const ids = Array.from({ length: 5 }, () => nextId());
      for (const id of ids) await store.workspaces.create({ id, name: id, createdAt: timestamp() });
      const pages = await allPages((cursor) => store.workspaces.list({ limit: 2, cursor }));
      expect(pages.map((page) => page.map((workspace) => workspace.id))).toEqual([
        [ids[4], ids[3]],
        [ids[2], ids[1]],
        [ids[0]],
      ]);
      const only = await store.workspaces.list({ limit: 10 }, ids[2]);
      expect(only).toEqual({ data: [expect.objectContaining({ id: ids[2], teamId: 3 })], nextCursor: null });
      expect((await store.workspaces.list({ limit: 10 }, nextId())).data).toEqual([]);
    });

    it.skipIf(skip)('an exact page has no next cursor', async () => {
      const nextId = idSequence('workspace');
      for (let index = 0; index < 4; index += 1) {
        await store.workspaces.create({ id: nextId(), name: 'x', createdAt: timestamp() });
      }
      const first = await store.workspaces.list({ limit: 2 });
      expect(first.nextCursor).not.toBeNull();
      const second = await store.workspaces.list({ limit: 2, cursor: first.nextCursor! });
      expect(second.data).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
    });
  });

  describe('api keys', () => {
    it.skipIf(skip)('creates, gets, finds by hash, and never returns the hash', async () => {
      const workspaceId = await addWorkspace(store);
      const input = apiKeyInput(workspaceId, {
        name: 'deploy',
        scopes: ['read', 'run'],
        expiresAt: timestamp(3600),
        keyHash: 'a'.repeat(64),
      });
      const created = await store.apiKeys.create(input);
      const { keyHash: _hash, ...expected } = input;
      expect(created).toEqual(expected);
      expect(created).not.toHaveProperty('keyHash');
      expect(await store.apiKeys.get(workspaceId, input.id)).toEqual(expected);
      expect(await store.apiKeys.findByHash('a'.repeat(64))).toEqual(expected);
      expect(await store.apiKeys.findByHash('b'.repeat(64))).toBeUndefined();
    });

    it.skipIf(skip)('rejects a duplicate key hash as a unique violation', async () => {
      const workspaceId = await addWorkspace(store);
      await store.apiKeys.create(apiKeyInput(workspaceId, { keyHash: 'same' }));
      const error: unknown = await store.apiKeys.create(apiKeyInput(workspaceId, { keyHash: 'same' })).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isUniqueViolation(error)).toBe(true);
    });

    it.skipIf(skip)('lists newest first across pages', async () => {
      const workspaceId = await addWorkspace(store);
      const nextId = idSequence('apiKey');
      const ids = Array.from({ length: 5 }, () => nextId());
      for (const id of ids.toReversed()) await store.apiKeys.create(apiKeyInput(workspaceId, { id }));
      const pages = await allPages((cursor) => store.apiKeys.list(workspaceId, { limit: 2, cursor }));
      expect(pages.map((page) => page.map((key) => key.id))).toEqual([
        [ids[4], ids[3]],
        [ids[2], ids[1]],
        [ids[0]],
      ]);
    });

    it.skipIf(skip)('revokes once, touches lastUsedAt', async () => {
      const workspaceId = await addWorkspace(store);
      const input = apiKeyInput(workspaceId);
      await store.apiKeys.create(input);
      expect(await store.apiKeys.revoke(workspaceId, input.id, timestamp(60))).toBe(true);
      expect((await store.apiKeys.get(workspaceId, input.id))?.revokedAt).toBe(timestamp(60));
      expect(await store.apiKeys.revoke(workspaceId, input.id, timestamp(120))).toBe(false);
      expect((await store.apiKeys.get(workspaceId, input.id))?.revokedAt).toBe(timestamp(60));
      expect(await store.apiKeys.revoke(workspaceId, 'key_unknown', timestamp(60))).toBe(false);

      await store.apiKeys.touch(input.id, timestamp(90));
      expect((await store.apiKeys.get(workspaceId, input.id))?.lastUsedAt).toBe(timestamp(90));
      await store.apiKeys.touch(input.id, timestamp(95));
      expect((await store.apiKeys.findByHash(input.keyHash))?.lastUsedAt).toBe(timestamp(95));
    });
  });

  describe('secrets', () => {
    it.skipIf(skip)('creates, gets, lists across pages', async () => {
      const workspaceId = await addWorkspace(store);
      const nextId = idSequence('secret');
      const records = ['A', 'B', 'C'].map((name) => secretInput(name, { id: nextId() }));
      for (const record of records) expect(await store.secrets.create(workspaceId, record)).toEqual(record);
      expect(await store.secrets.get(workspaceId, 'B')).toEqual(records[1]);
      expect(await store.secrets.get(workspaceId, 'b')).toBeUndefined();
      const pages = await allPages((cursor) => store.secrets.list(workspaceId, { limit: 2, cursor }));
      expect(pages).toEqual([[records[2], records[1]], [records[0]]]);
    });

    it.skipIf(skip)('names are unique per workspace only', async () => {
      const first = await addWorkspace(store, 'first');
      const second = await addWorkspace(store, 'second');
      await store.secrets.create(first, secretInput('TOKEN'));
      const error: unknown = await store.secrets.create(first, secretInput('TOKEN')).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isUniqueViolation(error)).toBe(true);
      await expect(store.secrets.create(second, secretInput('TOKEN'))).resolves.toMatchObject({
        name: 'TOKEN',
      });
    });

    it.skipIf(skip)('replaceValue bumps the version and keeps createdAt', async () => {
      const workspaceId = await addWorkspace(store);
      const record = secretInput('TOKEN');
      await store.secrets.create(workspaceId, record);
      const change = { ciphertext: 'v1.new', fingerprint: 'fp_new', updatedAt: timestamp(10) };
      const rotated = await store.secrets.replaceValue(workspaceId, 'TOKEN', change);
      expect(rotated).toEqual({ ...record, ...change, version: 2 });
      const again = await store.secrets.replaceValue(workspaceId, 'TOKEN', {
        ...change,
        updatedAt: timestamp(20),
      });
      expect(again?.version).toBe(3);
      expect(again?.createdAt).toBe(record.createdAt);
      expect(await store.secrets.replaceValue(workspaceId, 'MISSING', change)).toBeUndefined();
    });

    it.skipIf(skip)('deletes once', async () => {
      const workspaceId = await addWorkspace(store);
      await store.secrets.create(workspaceId, secretInput('TOKEN'));
      expect(await store.secrets.delete(workspaceId, 'TOKEN')).toBe(true);
      expect(await store.secrets.get(workspaceId, 'TOKEN')).toBeUndefined();
      expect(await store.secrets.delete(workspaceId, 'TOKEN')).toBe(false);
      expect((await store.secrets.list(workspaceId, { limit: 10 })).data).toEqual([]);
    });
  });

  describe('providers', () => {
    it.skipIf(skip)('creates and reads every field back, nulls and booleans included', async () => {
      const workspaceId = await addWorkspace(store);
      const full = providerInput('local');
      const bare = providerInput('playground', {
        kind: 'playground',
        baseUrl: null,
        apiKey: null,
        models: [],
        requestsPerMinute: null,
        builtIn: true,
      });
      expect(await store.providers.create(workspaceId, full)).toEqual(full);
      await store.providers.create(workspaceId, bare);
      expect(await store.providers.get(workspaceId, 'local')).toEqual(full);
      expect(await store.providers.get(workspaceId, 'playground')).toEqual(bare);
      expect(await store.providers.get(workspaceId, 'nothing')).toBeUndefined();
    });

    it.skipIf(skip)('lists newest first across pages', async () => {
      const workspaceId = await addWorkspace(store);
      const nextId = idSequence('provider');
      const providers = ['a', 'b', 'c', 'd'].map((name) => providerInput(name, { id: nextId() }));
      for (const provider of providers) await store.providers.create(workspaceId, provider);
      const pages = await allPages((cursor) => store.providers.list(workspaceId, { limit: 3, cursor }));
      expect(pages).toEqual([[providers[3], providers[2], providers[1]], [providers[0]]]);
    });

    it.skipIf(skip)('replace changes every mutable field and keeps id, name and createdAt', async () => {
      const workspaceId = await addWorkspace(store);
      const original = providerInput('local');
      await store.providers.create(workspaceId, original);
      const next = {
        ...original,
        baseUrl: null,
        apiKey: null,
        models: ['other'],
        requestsPerMinute: null,
        updatedAt: timestamp(30),
      };
      expect(await store.providers.replace(workspaceId, next)).toEqual(next);
      expect(await store.providers.get(workspaceId, 'local')).toEqual(next);
      const back = { ...next, apiKey: { secret: 'OTHER' }, requestsPerMinute: 5, updatedAt: timestamp(40) };
      await store.providers.replace(workspaceId, back);
      expect(await store.providers.get(workspaceId, 'local')).toEqual(back);
    });

    it.skipIf(skip)('names are unique per workspace; delete once', async () => {
      const workspaceId = await addWorkspace(store);
      await store.providers.create(workspaceId, providerInput('local'));
      const error: unknown = await store.providers.create(workspaceId, providerInput('local')).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isUniqueViolation(error)).toBe(true);
      expect(await store.providers.delete(workspaceId, 'local')).toBe(true);
      expect(await store.providers.get(workspaceId, 'local')).toBeUndefined();
      expect(await store.providers.delete(workspaceId, 'local')).toBe(false);
    });

    it.skipIf(skip)('namesUsingSecret lists exactly the providers reading that secret', async () => {
      const workspaceId = await addWorkspace(store);
      await store.providers.create(workspaceId, providerInput('one', { apiKey: { secret: 'KEY_A' } }));
      await store.providers.create(workspaceId, providerInput('two', { apiKey: { secret: 'KEY_A' } }));
      await store.providers.create(workspaceId, providerInput('three', { apiKey: { secret: 'KEY_B' } }));
      await store.providers.create(workspaceId, providerInput('four', { apiKey: null }));
      expect((await store.providers.namesUsingSecret(workspaceId, 'KEY_A')).sort()).toEqual(['one', 'two']);
      expect(await store.providers.namesUsingSecret(workspaceId, 'KEY_B')).toEqual(['three']);
      // `_` is not a wildcard here: an exact comparison.
      expect(await store.providers.namesUsingSecret(workspaceId, 'KEY__')).toEqual([]);
      expect(await store.providers.namesUsingSecret(workspaceId, 'key_a')).toEqual([]);
    });
  });

  describe('instance', () => {
    it.skipIf(skip)('gets undefined, then what was set, then the overwrite', async () => {
      expect(await store.instance.get('default_workspace_id')).toBeUndefined();
      await store.instance.set('default_workspace_id', 'ws_one');
      await store.instance.set('other', '{"json":true}');
      expect(await store.instance.get('default_workspace_id')).toBe('ws_one');
      await store.instance.set('default_workspace_id', 'ws_two');
      expect(await store.instance.get('default_workspace_id')).toBe('ws_two');
      expect(await store.instance.get('other')).toBe('{"json":true}');
    });
  });

  describe('idempotency', () => {
    it.skipIf(skip)('claims once, returns the existing row, completes, releases', async () => {
      const workspaceId = await addWorkspace(store);
      expect(await store.idempotency.claim(workspaceId, 'key-1', 'hash-1', timestamp())).toEqual({
        kind: 'claimed',
      });
      expect(await store.idempotency.claim(workspaceId, 'key-1', 'hash-2', timestamp(5))).toEqual({
        kind: 'existing',
        record: {
          workspace_id: workspaceId,
          idempotency_key: 'key-1',
          request_hash: 'hash-1',
          status_code: null,
          response_body: null,
          created_at: timestamp(),
        },
      });
      await store.idempotency.complete(workspaceId, 'key-1', 201, '{"id":"agt_x","ok":true}');
      const completed = await store.idempotency.claim(workspaceId, 'key-1', 'hash-1', timestamp(6));
      expect(completed).toEqual({
        kind: 'existing',
        record: {
          workspace_id: workspaceId,
          idempotency_key: 'key-1',
          request_hash: 'hash-1',
          status_code: 201,
          response_body: '{"id":"agt_x","ok":true}',
          created_at: timestamp(),
        },
      });
      await store.idempotency.release(workspaceId, 'key-1');
      expect(await store.idempotency.claim(workspaceId, 'key-1', 'hash-3', timestamp(7))).toEqual({
        kind: 'claimed',
      });
    });

    it.skipIf(skip)('keys are per workspace', async () => {
      const first = await addWorkspace(store, 'first');
      const second = await addWorkspace(store, 'second');
      await store.idempotency.claim(first, 'same', 'hash-first', timestamp());
      expect(await store.idempotency.claim(second, 'same', 'hash-second', timestamp())).toEqual({
        kind: 'claimed',
      });
      await store.idempotency.release(second, 'same');
      const kept = await store.idempotency.claim(first, 'same', 'x', timestamp());
      expect(kept).toMatchObject({ kind: 'existing', record: { request_hash: 'hash-first' } });
    });

    it.skipIf(skip)('deleteOlderThan removes only rows created before the instant', async () => {
      const workspaceId = await addWorkspace(store);
      await store.idempotency.claim(workspaceId, 'old', 'h', timestamp(0));
      await store.idempotency.claim(workspaceId, 'edge', 'h', timestamp(5));
      await store.idempotency.claim(workspaceId, 'new', 'h', timestamp(10));
      await store.idempotency.deleteOlderThan(timestamp(5));
      expect((await store.idempotency.claim(workspaceId, 'old', 'h', timestamp(20))).kind).toBe('claimed');
      expect((await store.idempotency.claim(workspaceId, 'edge', 'h', timestamp(20))).kind).toBe('existing');
      expect((await store.idempotency.claim(workspaceId, 'new', 'h', timestamp(20))).kind).toBe('existing');
    });
  });
});
