import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backendNames,
  createBackend,
  postgresAvailable,
  type Backend,
} from '../../../../test/support/backends.ts';
import { testBootstrapKey } from '../../../../test/support/server.ts';
import { hashApiKey } from '../core/crypto.ts';
import { migrations } from './migrations/index.ts';
import { migrate, openDatabase, pendingMigrations, Store, type DatabaseHandle } from './index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repositoryRoot = path.resolve(here, '../../../..');
const migrationNames = migrations.map((migration) => migration.name);
const racers = 4;

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript fixture in its own Node process. */
function runFixture(script: string, environment: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'test-fixtures', script)], {
      cwd: repositoryRoot,
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `count` processes of one fixture that all begin their work at the same instant. */
async function race(script: string, backend: Backend, extra: Record<string, string> = {}): Promise<Exit[]> {
  const environment = {
    RUNYARD_DATA_DIR: backend.dataDir,
    DATABASE_URL: backend.databaseUrl ?? '',
    // Long enough for every process to have loaded tsx and its imports.
    RUNYARD_TEST_START_AT: String(Date.now() + 4000),
    ...extra,
  };
  const exits = await Promise.all(Array.from({ length: racers }, () => runFixture(script, environment)));
  for (const exit of exits) expect(exit, exit.stderr).toMatchObject({ code: 0 });
  return exits;
}

async function migrationRows(handle: DatabaseHandle): Promise<string[]> {
  const rows = await handle.db.selectFrom('runyard_migrations').select('name').orderBy('name').execute();
  return rows.map((row) => row.name);
}

describe.each(backendNames)('migrations on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function freshDatabase(): Promise<{ backend: Backend; open: () => Promise<DatabaseHandle> }> {
    const created = await createBackend(backend);
    cleanups.push(() => created.cleanup());
    return {
      backend: created,
      open: async () => {
        const handle = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir });
        cleanups.push(() => handle.close());
        return handle;
      },
    };
  }

  it.skipIf(skip)('lists every migration as pending on an empty database, none after migrating', async () => {
    const handle = await (await freshDatabase()).open();
    expect(migrationNames.length).toBeGreaterThan(0);
    expect(await pendingMigrations(handle)).toEqual(migrationNames);
    expect(await migrate(handle)).toEqual(migrationNames);
    expect(await pendingMigrations(handle)).toEqual([]);
  });

  it.skipIf(skip)('applying twice is a no-op', async () => {
    const database = await freshDatabase();
    const handle = await database.open();
    expect(await migrate(handle)).toEqual(migrationNames);
    const recorded = await handle.db.selectFrom('runyard_migrations').selectAll().execute();
    expect(await migrate(handle)).toEqual([]);
    // A second connection (another start of the process) finds nothing to do either.
    const again = await database.open();
    expect(await migrate(again)).toEqual([]);
    expect(await pendingMigrations(again)).toEqual([]);
    expect(await again.db.selectFrom('runyard_migrations').selectAll().execute()).toEqual(recorded);
    for (const row of recorded) expect(new Date(row.applied_at).toISOString()).toBe(row.applied_at);
    // The schema is usable.
    await new Store(again.db).instance.set('k', 'v');
    expect(await new Store(handle.db).instance.get('k')).toBe('v');
  });

  it.skipIf(skip)('several connections opened at once on a new database all work', async () => {
    // On PostgreSQL each one creates the schema if it is missing: the losers of that race must not fail.
    for (let round = 0; round < 3; round += 1) {
      const { backend: created } = await freshDatabase();
      const opened = await Promise.allSettled(
        Array.from({ length: 8 }, () =>
          openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir }),
        ),
      );
      const handles = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      try {
        expect(opened.filter((result) => result.status === 'rejected')).toEqual([]);
        await Promise.all(handles.map((handle) => handle.ping()));
      } finally {
        await Promise.all(handles.map((handle) => handle.close()));
      }
    }
  });

  it.skipIf(skip)(
    `${racers} processes migrating one database at the same moment apply each migration once`,
    async () => {
      const database = await freshDatabase();
      const exits = await race('migrate-at.ts', database.backend);
      const applied = exits.flatMap((exit) => JSON.parse(exit.stdout) as string[]);
      expect(applied.sort()).toEqual([...migrationNames].sort());
      const handle = await database.open();
      expect(await migrationRows(handle)).toEqual([...migrationNames].sort());
      expect(await pendingMigrations(handle)).toEqual([]);
    },
    60_000,
  );

  it.skipIf(skip)(
    `${racers} servers starting on one empty database create one default workspace`,
    async () => {
      const database = await freshDatabase();
      await race('start-server-at.ts', database.backend, { RUNYARD_BOOTSTRAP_KEY: testBootstrapKey });
      const handle = await database.open();
      const store = new Store(handle.db);
      const workspaces = await store.workspaces.list({ limit: 10 });
      expect(workspaces.data).toHaveLength(1);
      const [workspace] = workspaces.data;
      expect(workspace).toMatchObject({ name: 'default', teamId: 1 });
      expect(await store.instance.get('default_workspace_id')).toBe(workspace!.id);
      expect(
        (await store.providers.list(workspace!.id, { limit: 10 })).data.map((provider) => provider.name),
      ).toEqual(['playground']);
      const keys = await store.apiKeys.list(workspace!.id, { limit: 10 });
      expect(keys.data).toHaveLength(1);
      expect(await store.apiKeys.findByHash(hashApiKey(testBootstrapKey))).toMatchObject({
        workspaceId: workspace!.id,
        scopes: ['admin'],
      });
      expect(await migrationRows(handle)).toEqual([...migrationNames].sort());
    },
    60_000,
  );
});
