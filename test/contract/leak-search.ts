import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { postgresUrl } from '../support/postgres.ts';
import type { TestServer } from '../support/server.ts';

/**
 * Shared by the secret-leak suites (/v1 and compat): canary secrets, and the places searched for
 * them — every recorded response (headers and body), every log line, every file under the data dir
 * and, on PostgreSQL, every database row.
 */

export interface RecordedResponse {
  method: string;
  pathname: string;
  status: number;
  /** Every response header as `name: value` lines, then the body. */
  text: string;
}

export interface Place {
  name: string;
  bytes: Buffer;
}

export const canary = (label: string) => `sk-live-LEAKCANARY-${label}-${randomBytes(12).toString('hex')}`;

/** Every file under a folder, recursively, as raw bytes. */
export function filesUnder(directory: string): Place[] {
  return fs.readdirSync(directory, { withFileTypes: true, recursive: true }).flatMap((entry) => {
    if (!entry.isFile()) return [];
    const file = path.join(entry.parentPath, entry.name);
    return [{ name: `file ${path.relative(directory, file)}`, bytes: fs.readFileSync(file) }];
  });
}

/** Every row of every table in the test's PostgreSQL schema, as text. */
export async function postgresRows(databaseUrl: string): Promise<Place[]> {
  const schema = new URL(databaseUrl).searchParams.get('schema');
  if (schema === null) throw new Error('the test database URL names no schema');
  const client = new pg.Client({ connectionString: (await postgresUrl())! });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE'`,
      [schema],
    );
    expect(tables.rows.length, 'the schema has tables to search').toBeGreaterThanOrEqual(8);
    const places: Place[] = [];
    for (const { table_name: table } of tables.rows) {
      const rows = await client.query<{ row: string }>(
        `select t::text as row from ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)} t`,
      );
      places.push({ name: `table ${table}`, bytes: Buffer.from(rows.rows.map((row) => row.row).join('\n')) });
      // Bytes columns show as hex in row text: search their raw bytes too (run artifacts).
      const byteColumns = await client.query<{ column_name: string }>(
        `select column_name from information_schema.columns
         where table_schema = $1 and table_name = $2 and data_type = 'bytea'`,
        [schema, table],
      );
      for (const { column_name: column } of byteColumns.rows) {
        const values = await client.query<{ value: Buffer }>(
          `select ${client.escapeIdentifier(column)} as value from ${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`,
        );
        places.push({
          name: `table ${table}.${column}`,
          bytes: Buffer.concat(values.rows.map((row) => row.value)),
        });
      }
    }
    return places;
  } finally {
    await client.end();
  }
}

export function placesHolding(places: Place[], needle: string): string[] {
  const bytes = Buffer.from(needle, 'utf8');
  return places.filter((place) => place.bytes.includes(bytes)).map((place) => place.name);
}

/** Recorded responses as places to search, named by request. */
export function responsePlaces(recorded: readonly RecordedResponse[]): Place[] {
  return recorded.map((response, index) => ({
    name: `response ${index} to ${response.method} ${response.pathname} (${response.status})`,
    bytes: Buffer.from(response.text, 'utf8'),
  }));
}

export function logPlaces(server: TestServer): Place[] {
  return server.logs.map((line, index) => ({
    name: `log line ${index}: ${line}`,
    bytes: Buffer.from(line, 'utf8'),
  }));
}

/** What the server stored: its data dir's files, and on PostgreSQL every row of its schema. */
export async function storedPlaces(server: TestServer): Promise<Place[]> {
  const stored: Place[] = [...filesUnder(server.backend.dataDir)];
  if (server.backend.databaseUrl !== undefined)
    stored.push(...(await postgresRows(server.backend.databaseUrl)));
  else {
    const names = stored.map((place) => place.name);
    expect(names).toContain('file runyard.db');
    expect(names).toContain('file runyard.db-wal');
  }
  return stored;
}

/** A response as the suites record it: every header as `name: value` lines, then the body. */
export function recordedResponse(
  method: string,
  pathname: string,
  response: { status: number; headers: Headers },
  body: string,
): RecordedResponse {
  const headers: string[] = [];
  response.headers.forEach((value, name) => headers.push(`${name}: ${value}`));
  return { method, pathname, status: response.status, text: `${headers.join('\n')}\n\n${body}` };
}

export interface ModelUpstream {
  /** The OpenAI-compatible base URL (`…/v1`). */
  url: string;
  /** Every Authorization header it was shown, oldest first. */
  authorizations: string[];
  close(): Promise<void>;
}

/**
 * A model provider on loopback that records the key it is shown and, for any other key than
 * `acceptedKey`, answers 401 quoting the key (as real providers' error bodies may): whatever Runyard
 * passes on of that answer must be scrubbed. The accepted key lists `upstream-model`.
 */
export async function startModelUpstream(acceptedKey?: string): Promise<ModelUpstream> {
  const authorizations: string[] = [];
  const server = http.createServer((request, response) => {
    const authorization = request.headers.authorization ?? '';
    authorizations.push(authorization);
    const accepted = acceptedKey !== undefined && authorization === `Bearer ${acceptedKey}`;
    response.writeHead(accepted ? 200 : 401, { 'content-type': 'application/json' });
    const body = accepted
      ? { data: [{ id: 'upstream-model' }] }
      : { error: { message: `invalid key ${authorization}` } };
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1`,
    authorizations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
