import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { backendNames, createBackend, postgresAvailable } from '../../../../../test/support/backends.ts';
import { isUniqueViolation, openDatabase, Store, type DatabaseHandle } from '../index.ts';
import * as initial from './0001-initial.ts';
import * as runs from './0002-runs.ts';
import * as runCallbacks from './0003-run-callbacks.ts';
import * as compat from './0004-compat.ts';
import { ThreadsService } from '../../core/threads-service.ts';

const workspaces = ['ws_a', 'ws_b'];

/** A provider row as the table was before 0004 (no number). */
async function insertOldProvider(
  db: Kysely<unknown>,
  workspaceId: string,
  id: string,
  name: string,
  createdAt: string,
): Promise<void> {
  await sql`
    insert into providers (id, workspace_id, name, kind, base_url, api_key_secret, models,
      requests_per_minute, built_in, created_at, updated_at)
    values (${id}, ${workspaceId}, ${name}, 'playground', null, null, '[]', null, 0, ${createdAt}, ${createdAt})
  `.execute(db);
}

describe.each(backendNames)('migration 0004-compat on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function databaseAt0003(): Promise<DatabaseHandle> {
    const created = await createBackend(backend);
    cleanups.push(() => created.cleanup());
    const handle = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir });
    cleanups.push(() => handle.close());
    const db = handle.db as unknown as Kysely<unknown>;
    for (const migration of [initial, runs, runCallbacks]) await migration.up(db);
    for (const [index, id] of workspaces.entries()) {
      await sql`insert into workspaces (id, name, team_id, created_at)
        values (${id}, ${id}, ${index + 1}, '2025-01-01T00:00:00.000Z')`.execute(db);
    }
    return handle;
  }

  it.skipIf(skip)('numbers existing providers per workspace in creation order', async () => {
    const handle = await databaseAt0003();
    const db = handle.db as unknown as Kysely<unknown>;
    // Inserted out of order; two share a timestamp (their ids break the tie).
    await insertOldProvider(db, 'ws_a', 'prv_3', 'third', '2025-01-03T00:00:00.000Z');
    await insertOldProvider(db, 'ws_a', 'prv_1', 'first', '2025-01-01T00:00:00.000Z');
    await insertOldProvider(db, 'ws_b', 'prv_9', 'only', '2025-01-09T00:00:00.000Z');
    await insertOldProvider(db, 'ws_a', 'prv_2b', 'second-b', '2025-01-02T00:00:00.000Z');
    await insertOldProvider(db, 'ws_a', 'prv_2a', 'second-a', '2025-01-02T00:00:00.000Z');
    await compat.up(db);

    const rows = await handle.db
      .selectFrom('providers')
      .select(['workspace_id', 'name', 'number'])
      .orderBy('workspace_id')
      .orderBy('number')
      .execute();
    expect(rows.map((row) => [row.workspace_id, row.name, Number(row.number)])).toEqual([
      ['ws_a', 'first', 1],
      ['ws_a', 'second-a', 2],
      ['ws_a', 'second-b', 3],
      ['ws_a', 'third', 4],
      ['ws_b', 'only', 1],
    ]);

    // A number is unique within its workspace only.
    const duplicate = insertOldProvider(db, 'ws_a', 'prv_x', 'dup', '2025-02-01T00:00:00.000Z').then(() =>
      sql`update providers set number = 2 where id = 'prv_x'`.execute(db),
    );
    await expect(duplicate).rejects.toSatisfy(isUniqueViolation);
    await sql`update providers set number = 2 where id = 'prv_9'`.execute(db);
  });

  it.skipIf(skip)('maps one external name to one id per workspace, surface and kind', async () => {
    const handle = await databaseAt0003();
    await compat.up(handle.db as unknown as Kysely<unknown>);
    // The repository runs against the columns this migration created (0005+ are not needed).
    const store = new Store(handle.db);
    const key = { workspaceId: 'ws_a', surface: 'make', kind: 'thread', externalId: 'customer-42' };
    expect(await store.compatReferences.find(key)).toBeUndefined();
    await store.compatReferences.insert(key, 'thr_one', '2025-01-01T00:00:00.000Z');
    expect(await store.compatReferences.find(key)).toBe('thr_one');
    await expect(store.compatReferences.insert(key, 'thr_two', '2025-01-01T00:00:00.000Z')).rejects.toSatisfy(
      isUniqueViolation,
    );
    // The same name elsewhere is another name.
    for (const other of [
      { ...key, workspaceId: 'ws_b' },
      { ...key, surface: 'runtools' },
      { ...key, kind: 'agent' },
    ]) {
      expect(await store.compatReferences.find(other)).toBeUndefined();
      await store.compatReferences.insert(other, 'thr_elsewhere', '2025-01-01T00:00:00.000Z');
    }
    expect(await store.compatReferences.repoint(key, 'thr_stale', 'thr_three')).toBe(false);
    expect(await store.compatReferences.repoint(key, 'thr_one', 'thr_three')).toBe(true);
    expect(await store.compatReferences.find(key)).toBe('thr_three');
  });

  it.skipIf(skip)('resolves concurrent first uses of one thread name to one thread', async () => {
    const handle = await databaseAt0003();
    await compat.up(handle.db as unknown as Kysely<unknown>);
    const threads = new ThreadsService(new Store(handle.db));
    const caller = {
      keyId: 'key_test',
      workspaceId: 'ws_a',
      scopes: ['run' as const],
      isInstanceAdmin: false,
    };
    for (let round = 0; round < 5; round += 1) {
      const resolved = await Promise.all(
        Array.from({ length: 6 }, () => threads.resolveExternal(caller, 'make', `name-${round}`)),
      );
      expect(new Set(resolved).size).toBe(1);
      expect(resolved[0]).toMatch(/^thr_/);
      // Later uses find it; the losers of the race left no thread behind.
      expect(await threads.resolveExternal(caller, 'make', `name-${round}`)).toBe(resolved[0]);
    }
    const rows = await handle.db.selectFrom('threads').select('id').execute();
    expect(rows).toHaveLength(5);
    // Another workspace's same name is another thread.
    const other = await threads.resolveExternal({ ...caller, workspaceId: 'ws_b' }, 'make', 'name-0');
    expect(other).not.toBe(await threads.resolveExternal(caller, 'make', 'name-0'));
  });
});
