import { openFreshStore } from '../../store/test-fixtures/fresh-store.ts';
import type { Store } from '../../store/index.ts';
import { LocalEventBus, type EventBus } from '../event-bus.ts';
import { createPostgresEventBus } from '../postgres-event-bus.ts';

export type BusKind = 'local' | 'postgres';

/** Every implementation of EventBus: the conformance suite runs over each. */
export const busKinds: BusKind[] = ['local', 'postgres'];

export interface OpenBus {
  bus: EventBus;
  /** The database the bus's runs are written to (embedded SQLite for the local bus). */
  store: Store;
  /** What the bus logged instead of throwing. */
  logged: string[];
  /** Closes the bus, then deletes the database. */
  close(): Promise<void>;
}

/** A bus of the named kind as `startServer` wires it, over a fresh migrated database. */
export async function openBus(kind: BusKind): Promise<OpenBus> {
  const fresh = await openFreshStore(kind === 'local' ? 'sqlite' : 'postgres');
  const logged: string[] = [];
  const logger = (message: string) => logged.push(message);
  let bus: EventBus;
  try {
    const databaseUrl = fresh.backend.databaseUrl;
    bus =
      databaseUrl === undefined
        ? new LocalEventBus(logger)
        : await createPostgresEventBus({ databaseUrl, store: fresh.store, logger });
  } catch (error) {
    await fresh.close();
    throw error;
  }
  return {
    bus,
    store: fresh.store,
    logged,
    close: async () => {
      await bus.close();
      await fresh.close();
    },
  };
}
