/**
 * Run by migrate.int.test.ts in several processes at once: waits until RUNYARD_TEST_START_AT (epoch
 * milliseconds), starts a whole server (migrations, bootstrap) from the environment on any free
 * port, then stops it.
 */
import { loadConfig } from '../../config/config.ts';
import { startServer } from '../../runtime/start.ts';
import { sleep } from '@runyard/protocol';

const startAt = Number(process.env.RUNYARD_TEST_START_AT ?? Date.now());
const config = loadConfig({ ...process.env, RUNYARD_PORT: '0', RUNYARD_LOG_LEVEL: 'silent' });

await sleep(Math.max(0, startAt - Date.now()));
const server = await startServer(config, { announce: () => undefined });
await server.close();
