import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { LocalEventBus, type EventBus } from '../events/event-bus.ts';
import { createPostgresEventBus } from '../events/postgres-event-bus.ts';
import type { Store } from '../store/index.ts';

/**
 * The embedded database has one process: a LocalEventBus. Several processes share one PostgreSQL:
 * events and signals cross them through LISTEN/NOTIFY.
 */
export async function createEventBus(config: Config, store: Store, logger: Logger): Promise<EventBus> {
  const busLogger = (message: string, error?: unknown) => logger.warn({ err: error }, message);
  return config.databaseUrl === undefined
    ? new LocalEventBus(busLogger)
    : await createPostgresEventBus({ databaseUrl: config.databaseUrl, store, logger: busLogger });
}
