/**
 * Run by postgres-event-bus.int.test.ts as a separate process: appends and publishes
 * RUNYARD_TEST_EVENTS events of run RUNYARD_TEST_RUN_ID on DATABASE_URL (already migrated) in
 * small batches, signals that run's cancellation, then closes the bus (which sends what is queued).
 */
import { openDatabase, Store } from '../../store/index.ts';
import { createPostgresEventBus } from '../postgres-event-bus.ts';
import { appendAndPublish } from './events.ts';

const databaseUrl = process.env.DATABASE_URL;
const runId = process.env.RUNYARD_TEST_RUN_ID;
const count = Number(process.env.RUNYARD_TEST_EVENTS ?? 100);
if (databaseUrl === undefined || runId === undefined)
  throw new Error('DATABASE_URL and RUNYARD_TEST_RUN_ID are required');

const handle = await openDatabase({ databaseUrl, dataDir: '' });
const store = new Store(handle.db);
const bus = await createPostgresEventBus({
  databaseUrl,
  store,
  logger: (message, error) =>
    process.stderr.write(`${message} ${error instanceof Error ? error.message : ''}\n`),
});
try {
  await appendAndPublish(store, bus, runId, 1, count, 5);
  bus.signal({ kind: 'cancel', runId });
} finally {
  await bus.close();
  await handle.close();
}
process.stdout.write(`published ${count}\n`);
