import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isolatedPostgres, postgresUrl } from './postgres.ts';

export type BackendName = 'sqlite' | 'postgres';

export interface Backend {
  name: BackendName;
  /** DATABASE_URL for this backend, or undefined for the embedded database. */
  databaseUrl: string | undefined;
  dataDir: string;
  cleanup(): Promise<void>;
}

/** Whether PostgreSQL is reachable; evaluated once, at collection time, with a loud line when not. */
export const postgresAvailable = (await postgresUrl()) !== undefined;

export const backendNames: BackendName[] = ['sqlite', 'postgres'];

export function temporaryDirectory(label = 'runyard-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), label));
}

/** A fresh, empty database of the named kind: its own SQLite file, or its own PostgreSQL schema. */
export async function createBackend(name: BackendName): Promise<Backend> {
  const dataDir = temporaryDirectory();
  if (name === 'sqlite') {
    return {
      name,
      databaseUrl: undefined,
      dataDir,
      cleanup: () => Promise.resolve(fs.rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  const postgres = await isolatedPostgres();
  if (postgres === undefined) throw new Error('PostgreSQL is not reachable');
  return {
    name,
    databaseUrl: postgres.databaseUrl,
    dataDir,
    cleanup: async () => {
      await postgres.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
