import { sql, type Kysely } from 'kysely';
import type { DatabaseHandle } from './connect.ts';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';

// An arbitrary constant: the PostgreSQL advisory lock that serialises migrations across processes.
const migrationLockId = 72_019_001;

/**
 * Applies pending migrations. Safe to call from several processes at once: PostgreSQL holds an
 * advisory lock for the whole run; SQLite takes its write lock with BEGIN IMMEDIATE, so a second
 * process waits (busy_timeout) and then finds nothing left to do.
 */
export async function migrate(handle: DatabaseHandle): Promise<string[]> {
  return handle.db.connection().execute(async (connection) => {
    if (handle.dialect === 'postgres') {
      await sql`select pg_advisory_lock(${migrationLockId})`.execute(connection);
      try {
        return await applyPending(connection, async (work) => connection.transaction().execute(work));
      } finally {
        await sql`select pg_advisory_unlock(${migrationLockId})`.execute(connection);
      }
    }
    await sql`begin immediate`.execute(connection);
    try {
      const applied = await applyPending(connection, (work) => work(connection));
      await sql`commit`.execute(connection);
      return applied;
    } catch (error) {
      await sql`rollback`.execute(connection);
      throw error;
    }
  });
}

async function applyPending(
  connection: Kysely<Database>,
  inTransaction: (work: (db: Kysely<Database>) => Promise<void>) => Promise<void>,
): Promise<string[]> {
  await connection.schema
    .createTable('runyard_migrations')
    .ifNotExists()
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('applied_at', 'text', (column) => column.notNull())
    .execute();
  const done = new Set(
    (await connection.selectFrom('runyard_migrations').select('name').execute()).map((row) => row.name),
  );
  const applied: string[] = [];
  for (const migration of migrations) {
    if (done.has(migration.name)) continue;
    await inTransaction(async (db) => {
      await migration.up(db as unknown as Kysely<unknown>);
      await db
        .insertInto('runyard_migrations')
        .values({ name: migration.name, applied_at: new Date().toISOString() })
        .execute();
    });
    applied.push(migration.name);
  }
  return applied;
}

export async function pendingMigrations(handle: DatabaseHandle): Promise<string[]> {
  const exists = await sql<{ found: number }>`select 1 as found from runyard_migrations limit 1`
    .execute(handle.db)
    .then(
      () => true,
      () => false,
    );
  if (!exists) return migrations.map((migration) => migration.name);
  const done = new Set(
    (await handle.db.selectFrom('runyard_migrations').select('name').execute()).map((row) => row.name),
  );
  return migrations.filter((migration) => !done.has(migration.name)).map((migration) => migration.name);
}
