import { randomBytes } from 'node:crypto';
import pg from 'pg';

const defaultUrl = 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<string | undefined> | undefined;

/**
 * The PostgreSQL server tests use: TEST_DATABASE_URL, else the machine's local server. Resolves to
 * undefined (after one loud line) when none answers, so the PostgreSQL suites skip visibly.
 */
export function postgresUrl(): Promise<string | undefined> {
  reachable ??= (async () => {
    const url = process.env.TEST_DATABASE_URL ?? defaultUrl;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return url;
    } catch (error) {
      if (process.env.CI !== undefined && process.env.TEST_DATABASE_URL !== undefined) throw error;
      console.warn(
        `\n!!! PostgreSQL not reachable at ${url} (${(error as Error).message}): PostgreSQL tests are SKIPPED !!!\n`,
      );
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/** A fresh schema for one test, and a function that drops it. */
export async function isolatedPostgres(): Promise<
  { databaseUrl: string; drop: () => Promise<void> } | undefined
> {
  const base = await postgresUrl();
  if (base === undefined) return undefined;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return {
    databaseUrl: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}
