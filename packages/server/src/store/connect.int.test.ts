import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../../../../test/support/backends.ts';
import { migrate, openDatabase } from './index.ts';

describe('the embedded database files', () => {
  it('are created 0600, the -wal and -shm SQLite adds included, when opened without the lock', async () => {
    const dataDir = temporaryDirectory();
    // The usual umask, under which SQLite alone would create every file 0644.
    const umask = process.umask(0o022);
    // Without `exclusive` (as `runyard migrate` opens it) SQLite keeps the WAL index in `-shm`.
    const handle = await openDatabase({ dataDir });
    try {
      await migrate(handle);
      const modes = Object.fromEntries(
        ['runyard.db', 'runyard.db-wal', 'runyard.db-shm'].map((name) => [
          name,
          (fs.statSync(path.join(dataDir, name)).mode & 0o777).toString(8),
        ]),
      );
      expect(modes).toEqual({ 'runyard.db': '600', 'runyard.db-wal': '600', 'runyard.db-shm': '600' });
    } finally {
      process.umask(umask);
      await handle.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
