import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { createServices, type Services } from '../core/services.ts';
import type { DatabaseHandle } from '../store/index.ts';
import { startApiRole, type ApiRole } from './api-role.ts';
import { createEventBus } from './create-event-bus.ts';
import { startIdempotencyCleanup } from './idempotency-cleanup.ts';
import { createLogger } from './logger.ts';
import { openStore } from './open-store.ts';
import { shutDown } from './shutdown.ts';
import { startWorkerRole, type WorkerRole } from './worker-role.ts';

export type Role = 'all' | 'api' | 'worker';

export interface RunningServer {
  role: Role;
  /** The base URL the API listens on; undefined for a worker-only process. */
  url: string | undefined;
  database: DatabaseHandle;
  app: FastifyInstance | undefined;
  logger: Logger;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), closes the database. */
  close(): Promise<void>;
}

/**
 * One Runyard process, step by step: config → store (migrated, bootstrapped) → event bus →
 * services → the worker role (`all`, `worker`) and the API role (`all`, `api`) → shutdown wiring.
 */
export async function startServer(
  config: Config,
  options: { role?: Role; logger?: Logger; announce?: (line: string) => void } = {},
): Promise<RunningServer> {
  const role = options.role ?? 'all';
  const logger = options.logger ?? createLogger(config);
  const announce = options.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
  const { database, store, box, boot } = await openStore(config, logger);
  const idempotencyCleanup = startIdempotencyCleanup(store, logger);
  const bus = await createEventBus(config, store, logger);
  const services = createServices(store, box, bus, boot.defaultWorkspaceId, {
    mcpStdioAllowed: config.mcpStdio === 'enabled',
  });
  const starterAgent = boot.createdWorkspace
    ? await applyStarterKit(services, boot.defaultWorkspaceId, logger)
    : undefined;

  const worker: WorkerRole | undefined =
    role === 'api'
      ? undefined
      : await startWorkerRole({ config, database, store, box, bus, services, logger });
  let accepting = true;
  let api: ApiRole | undefined;
  if (role !== 'worker') {
    try {
      api = await startApiRole({
        config,
        database,
        services,
        logger,
        isAccepting: () => accepting,
      });
    } catch (error) {
      await database.close();
      throw error;
    }
  }

  announce(
    `Runyard (${role}) ${api === undefined ? 'started' : `listening on ${api.url}`} — ${database.description}`,
  );
  if (boot.createdAdminKey !== undefined) {
    const { key, file } = boot.createdAdminKey;
    announce(
      file === undefined
        ? 'Admin API key: the value of RUNYARD_BOOTSTRAP_KEY'
        : `Admin API key (shown once): ${key}\nIt is saved in ${file} (readable by you only).`,
    );
  }
  if (starterAgent !== undefined) {
    announce(
      `Starter kit: agent '${starterAgent}' (playground model, echo tool) is in production; run it with POST /v1/agents/${starterAgent}/runs`,
    );
  }

  let closing: Promise<void> | undefined;
  return {
    role,
    url: api?.url,
    database,
    app: api?.app,
    logger,
    close() {
      closing ??= shutDown({
        stopAccepting: () => (accepting = false),
        timers: [idempotencyCleanup],
        worker,
        api,
        services,
        bus,
        database,
      });
      return closing;
    },
  };
}

/**
 * The starter kit on the workspace this start created. A convenience, not a precondition: a
 * failure leaves POST /v1/starter-kit to try again. Returns the starter agent's slug.
 */
async function applyStarterKit(
  services: Services,
  workspaceId: string,
  logger: Logger,
): Promise<string | undefined> {
  try {
    return (await services.starterKit.applyToWorkspace(workspaceId)).agent.slug;
  } catch (error) {
    logger.warn({ err: error }, 'the starter kit could not be applied');
    return undefined;
  }
}
