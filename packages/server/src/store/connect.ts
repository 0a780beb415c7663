import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { backoffDelayMs } from '@runyard/protocol';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /** A human description without credentials, for logs. */
  description: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL selects PostgreSQL; `?schema=name` confines Runyard to that schema. */
  databaseUrl?: string | undefined;
  /** For the embedded database: the folder that holds `runyard.db`. */
  dataDir: string;
  /**
   * Embedded database only: hold SQLite's lock for as long as the connection is open. The server
   * does (it assumes it is the only process on its database: `soleWorker` resumes every run left
   * `running`), so a second server on the same folder fails at start instead of running its runs
   * twice; and a transaction then takes no file locks, which saves a third of SQLite's CPU time.
   */
  exclusive?: boolean | undefined;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.databaseUrl === undefined
    ? openSqlite(options.dataDir, options.exclusive === true)
    : openPostgres(options.databaseUrl);
}

/**
 * Transactions take SQLite's write lock when they begin (BEGIN IMMEDIATE). A deferred transaction
 * that reads, then writes after another process committed, fails at once with SQLITE_BUSY (its
 * snapshot is stale, so busy_timeout cannot help); an immediate one waits its turn instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

function openSqlite(dataDir: string, exclusive: boolean): DatabaseHandle {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'runyard.db');
  readableByOwnerOnly(file);
  const connection = new SqliteDatabase(file);
  // First: switching to WAL needs a lock that another starting process may hold for a moment.
  connection.pragma('busy_timeout = 10000');
  // Before WAL is entered: an exclusive connection then keeps the WAL index in its own memory.
  if (exclusive) lockExclusively(connection, file);
  enterWalMode(connection);
  connection.pragma('synchronous = NORMAL');
  connection.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(connection) }),
  });
  return {
    db,
    dialect: 'sqlite',
    description: `SQLite at ${file}`,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * The embedded database holds every secret's ciphertext, key hashes and run logs: like the key files,
 * it is readable by its owner only (0600). SQLite gives the `-wal` and `-shm` files it creates the
 * database file's mode, so creating that file 0600 before SQLite opens it covers all three. Files
 * an earlier version created 0644 are narrowed on every start.
 */
function readableByOwnerOnly(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const each of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      fs.chmodSync(each, 0o600);
    } catch (error) {
      // Absent (no WAL yet), or owned by another user, who alone may narrow it: SQLite still opens it.
      const code = (error as { code?: unknown }).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw error;
    }
  }
}

const exclusiveLockWaitMs = 3000;
const walSwitchWaitMs = 10_000;
/** Full jitter (`backoffDelayMs`) between tries of the WAL switch: up to 20 ms doubling, at most 200 ms. */
const walSwitchBackoff = { baseMs: 20, capMs: 200 };

/**
 * Switches a new database to WAL. Processes opening one new file at once race for that switch, and
 * SQLite answers SQLITE_BUSY at once, without its busy handler, to the ones that would deadlock
 * (they hold a shared lock the switch must wait for), so they try again after a pause.
 */
function enterWalMode(connection: SqliteDatabase.Database): void {
  const deadline = Date.now() + walSwitchWaitMs;
  for (let retry = 0; ; retry += 1) {
    try {
      connection.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      // Opening a database is synchronous (better-sqlite3): so is this pause.
      const pauseMs = backoffDelayMs(retry, walSwitchBackoff);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pauseMs);
    }
  }
}

/** Takes the lock now, so a second process fails here with a clear message, not at its first write. */
function lockExclusively(connection: SqliteDatabase.Database, file: string): void {
  connection.pragma('locking_mode = EXCLUSIVE');
  // Long enough for a server that is shutting down to let go; another that runs never does.
  connection.pragma(`busy_timeout = ${exclusiveLockWaitMs}`);
  try {
    connection.exec('begin immediate; commit');
    connection.pragma('busy_timeout = 10000');
  } catch (error) {
    connection.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new DatabaseInUseError(file);
    }
    throw error;
  }
}

/** The embedded database is held by another process (another server on the same data folder). */
export class DatabaseInUseError extends Error {
  constructor(file: string) {
    super(
      `the embedded database ${file} is in use by another Runyard process: stop it, or give this one another RUNYARD_DATA_DIR (several processes share a database only on PostgreSQL)`,
    );
    this.name = 'DatabaseInUseError';
  }
}

/** Far more than the distinct queries the server sends; a bound all the same. */
const statementCacheSize = 500;

/**
 * Kysely's SQLite driver prepares every query anew, which costs more than running most of them.
 * Statements are reused by their SQL text instead. Safe because the driver runs one statement at
 * a time on the one connection and never leaves one mid-iteration (nothing here streams a query).
 * The server sends a few dozen distinct queries (multi-row inserts vary in size), so a full cache
 * means something unusual: it starts over rather than keeping recency on every hit.
 */
function withStatementCache(connection: SqliteDatabase.Database): SqliteDialectConfig['database'] {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => connection.close(),
    prepare(source: string) {
      let statement = statements.get(source);
      if (statement === undefined) {
        if (statements.size >= statementCacheSize) statements.clear();
        statement = connection.prepare(source);
        statements.set(source, statement);
      }
      return statement;
    },
  };
}

// node-postgres returns int8 (e.g. count(*)) as text; our counts fit in a double.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));

async function openPostgres(databaseUrl: string): Promise<DatabaseHandle> {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`DATABASE_URL: schema '${schema}' must match [a-z_][a-z0-9_]*`);
  }
  const pool = new pg.Pool({
    connectionString: url.toString(),
    max: 10,
    ...(schema === null ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client that loses its connection emits 'error' on the pool; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (schema !== null) {
    // Processes starting at once race to create it; IF NOT EXISTS does not stop the losers failing
    // with a unique violation (or duplicate_schema), which only means that it exists now.
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db).catch(async (error: unknown) => {
      if (isUniqueViolation(error) || (error as { code?: unknown }).code === '42P06') return;
      await db.destroy();
      throw error;
    });
  }
  return {
    db,
    dialect: 'postgres',
    description: `PostgreSQL at ${url.host}${url.pathname}${schema === null ? '' : ` (schema ${schema})`}`,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/** True for a violated unique or primary-key constraint, on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
