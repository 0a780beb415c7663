import type { Services } from '../core/services.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { DatabaseHandle } from '../store/index.ts';
import type { ApiRole } from './api-role.ts';
import type { WorkerRole } from './worker-role.ts';

export interface ShutdownParts {
  stopAccepting: () => void;
  timers: readonly NodeJS.Timeout[];
  worker: WorkerRole | undefined;
  api: ApiRole | undefined;
  services: Services;
  bus: EventBus;
  database: DatabaseHandle;
}

/**
 * A graceful stop, in the order the parts depend on each other: readiness fails at once; the
 * worker drains its runs (which still use the API's database, the bus and MCP connections); the
 * API finishes its requests; then MCP stdio servers, the bus and the database close.
 */
export async function shutDown(parts: ShutdownParts): Promise<void> {
  parts.stopAccepting();
  for (const timer of parts.timers) clearInterval(timer);
  await parts.worker?.stop();
  await parts.api?.close();
  // After the runs and requests that use them: ends every MCP stdio server process.
  await parts.services.tools.closeConnections();
  await parts.bus.close();
  await parts.database.close();
}
