/**
 * Run by migrate.int.test.ts in several processes at once: waits until RUNYARD_TEST_START_AT (epoch
 * milliseconds) so that every process migrates at the same moment, then migrates the database of
 * RUNYARD_DATA_DIR / DATABASE_URL and prints the names it applied as JSON.
 */
import { migrate, openDatabase } from '../index.ts';
import { sleep } from '@runyard/protocol';

const startAt = Number(process.env.RUNYARD_TEST_START_AT ?? Date.now());
const dataDir = process.env.RUNYARD_DATA_DIR;
if (dataDir === undefined) throw new Error('RUNYARD_DATA_DIR is required');

await sleep(Math.max(0, startAt - Date.now()));
const handle = await openDatabase({ databaseUrl: process.env.DATABASE_URL || undefined, dataDir });
try {
  process.stdout.write(`${JSON.stringify(await migrate(handle))}\n`);
} finally {
  await handle.close();
}
