import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendNames, createBackend, postgresAvailable } from '../support/backends.ts';
import { startTestServer } from '../support/server.ts';

const databaseFiles = ['runyard.db', 'runyard.db-wal', 'runyard.db-shm'];

/** The mode bits of each database file that exists, by name. */
function modesIn(dataDir: string): Record<string, string> {
  return Object.fromEntries(
    databaseFiles
      .filter((name) => fs.existsSync(path.join(dataDir, name)))
      .map((name) => [name, (fs.statSync(path.join(dataDir, name)).mode & 0o777).toString(8)]),
  );
}

/** Writes through the API: an agent, a run of it (events, messages), a secret. */
async function write(server: Awaited<ReturnType<typeof startTestServer>>, slug: string): Promise<void> {
  await server.admin.agents.create({ slug, name: slug, model: 'playground/playground' });
  expect((await server.admin.runs.create(slug, { input: 'hello' })).status).toBe('succeeded');
  await server.admin.secrets.create({ name: `SECRET_${slug.toUpperCase()}`, value: 'kept-private' });
}

describe.each(backendNames)('database files on disk with %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;

  it.skipIf(skip)(
    'are readable by their owner only (0600), after a start, writes and a restart',
    async () => {
      const created = await createBackend(backend);
      // A umask that lets everyone read what is created (the usual 022): the files must still be 0600.
      const umask = process.umask(0o022);
      try {
        const first = await startTestServer(backend, {}, created);
        try {
          if (backend === 'postgres') {
            await write(first, 'first');
            // On PostgreSQL the data folder holds no database file at all.
            expect(modesIn(created.dataDir)).toEqual({});
            return;
          }
          expect(modesIn(created.dataDir)).toEqual({ 'runyard.db': '600', 'runyard.db-wal': '600' });
          await write(first, 'first');
          expect(modesIn(created.dataDir)).toEqual({ 'runyard.db': '600', 'runyard.db-wal': '600' });
        } finally {
          await first.stop();
        }
        // Files an earlier version left readable by everyone are narrowed at the next start (a `-shm`
        // too: the server keeps its WAL index in memory, but a program opening the file without the
        // lock leaves one; store/connect.int.test.ts checks the one SQLite creates).
        for (const name of Object.keys(modesIn(created.dataDir))) {
          fs.chmodSync(path.join(created.dataDir, name), 0o644);
        }
        fs.writeFileSync(path.join(created.dataDir, 'runyard.db-shm'), '', { mode: 0o644 });
        const second = await startTestServer(backend, {}, created);
        try {
          await write(second, 'second');
          expect(modesIn(created.dataDir)).toEqual({
            'runyard.db': '600',
            'runyard.db-wal': '600',
            'runyard.db-shm': '600',
          });
        } finally {
          await second.stop();
        }
      } finally {
        process.umask(umask);
        await created.cleanup();
      }
    },
  );
});
