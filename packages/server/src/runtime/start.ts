import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.ts';
import type { Config } from '../config/config.ts';
import { bootstrap } from '../core/bootstrap.ts';
import { SecretBox, loadMasterKey } from '../core/crypto.ts';
import { createServices } from '../core/services.ts';
import { callbackSecretBinding } from '../core/runs-service.ts';
import { newId } from '../core/ids.ts';
import { expireApprovals } from '../engine/approvals/resolve-approval.ts';
import { RunWorker } from '../engine/runs/run-worker.ts';
import { CallbackScheduler, callbackDefaults } from '../engine/callbacks/callback-scheduler.ts';
import { costOf, priceOf } from '../engine/models/prices.ts';
import { LocalEventBus, type EventBus } from '../events/event-bus.ts';
import { createPostgresEventBus } from '../events/postgres-event-bus.ts';
import { migrate, openDatabase, Store, type DatabaseHandle } from '../store/index.ts';
import { createLogger } from './logger.ts';

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

const idempotencyRetentionMs = 24 * 60 * 60 * 1000;

export async function startServer(
  config: Config,
  options: { role?: Role; logger?: Logger; announce?: (line: string) => void } = {},
): Promise<RunningServer> {
  const role = options.role ?? 'all';
  const logger = options.logger ?? createLogger(config);
  const announce = options.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    exclusive: true,
  });
  try {
    const applied = await migrate(database);
    if (applied.length > 0) logger.info({ migrations: applied }, 'applied database migrations');
  } catch (error) {
    await database.close();
    throw error;
  }
  const store = new Store(database.db);
  const box = new SecretBox(loadMasterKey(config.masterKeyHex, config.dataDir));
  let boot;
  try {
    boot = await bootstrap(store, { dataDir: config.dataDir, bootstrapKey: config.bootstrapKey, box });
  } catch (error) {
    await database.close();
    throw error;
  }

  const maintenance = setInterval(
    () => {
      store.idempotency
        .deleteOlderThan(new Date(Date.now() - idempotencyRetentionMs).toISOString())
        .catch((error: unknown) => logger.warn({ err: error }, 'idempotency cleanup failed'));
    },
    60 * 60 * 1000,
  );
  maintenance.unref();

  // Several processes share one PostgreSQL: events and signals cross them through LISTEN/NOTIFY.
  const bus: EventBus =
    config.databaseUrl === undefined
      ? new LocalEventBus()
      : await createPostgresEventBus({
          databaseUrl: config.databaseUrl,
          store,
          logger: (message, error) => logger.warn({ err: error }, message),
        });
  const services = createServices(store, box, bus, boot.defaultWorkspaceId, {
    mcpStdioAllowed: config.mcpStdio === 'enabled',
  });
  let starterAgent: string | undefined;
  if (boot.createdWorkspace) {
    // A convenience, not a precondition: a failure leaves POST /v1/starter-kit to try again.
    try {
      starterAgent = (await services.starterKit.applyToWorkspace(boot.defaultWorkspaceId)).agent.slug;
    } catch (error) {
      logger.warn({ err: error }, 'the starter kit could not be applied');
    }
  }
  let worker: RunWorker | undefined;
  let approvalSweep: NodeJS.Timeout | undefined;
  let callbacks: CallbackScheduler | undefined;
  if (role !== 'api') {
    // Worker processes deliver callbacks; an API process only schedules them (runs it cancels).
    const scheduler = new CallbackScheduler(store, {
      ...callbackDefaults,
      retryBaseMs: config.callbackRetryBaseMs,
      openSecret: (runId, sealed) => box.decrypt(sealed, callbackSecretBinding(runId)),
      newDeliveryId: () => newId('delivery'),
      onError: (error, context) => logger.error({ err: error }, context),
    });
    callbacks = scheduler;
    worker = new RunWorker(
      {
        store,
        bus,
        resolveModels: (workspaceId, references) =>
          services.modelAccess.resolveModels(workspaceId, references),
        resolveTools: (workspaceId, names, binding) =>
          services.modelAccess.resolveTools(workspaceId, names, binding),
        costOf: (reference, usage) => costOf(usage, priceOf(reference.slice(reference.indexOf('/') + 1))),
        newMessageId: () => newId('message'),
        newRunId: () => newId('run'),
        newApprovalId: () => newId('approval'),
        approvalTimeoutMs: config.approvalTimeoutMs,
        newArtifactId: () => newId('artifact'),
        artifactMaxBytes: config.artifactMaxBytes,
        // The run's first callback attempt was made due when its end was stored: look for it now.
        onRunEnded: () => scheduler.pump(),
      },
      {
        concurrency: config.workerConcurrency,
        leaseMs: config.runLeaseMs,
        maxClaims: 3,
        soleWorker: database.dialect === 'sqlite',
        onError: (error, context) => logger.error({ err: error }, context),
        // Which worker ran a run, and its claim count: the API shows neither, and the run row forgets
        // its worker when it ends. One line per claim, so a run that ran twice shows in the logs.
        onClaimed: (claim) => logger.info(claim, 'claimed run'),
      },
    );
    await worker.start();
    scheduler.start();
    // Pending approvals expire (count as denied, their runs go on): checked at a tenth of the
    // timeout, between every 100 ms and every minute.
    const sweepMs = Math.min(60_000, Math.max(100, Math.floor(config.approvalTimeoutMs / 10)));
    approvalSweep = setInterval(() => {
      expireApprovals(store, bus, new Date()).catch((error: unknown) =>
        logger.error({ err: error }, 'expiring approvals'),
      );
    }, sweepMs);
    approvalSweep.unref();
  }

  let accepting = true;
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  if (role !== 'worker') {
    app = buildApp({
      services,
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      rateLimitPerMinute: config.rateLimitPerMinute,
      ping: () => database.ping(),
      isAccepting: () => accepting,
    });
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (error) {
      await database.close();
      throw error;
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  }

  announce(
    `Runyard (${role}) ${url === undefined ? 'started' : `listening on ${url}`} — ${database.description}`,
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
    url,
    database,
    app,
    logger,
    close() {
      closing ??= (async () => {
        accepting = false;
        clearInterval(maintenance);
        clearInterval(approvalSweep);
        if (worker !== undefined) {
          const graceMs = config.shutdownGraceMs;
          logger.info({ worker: worker.owner, runs: worker.activeRuns, graceMs }, 'worker draining');
          const { finished, released } = await worker.stop(graceMs);
          logger.info({ worker: worker.owner, finished, released }, 'worker stopped');
        }
        await callbacks?.stop(config.shutdownGraceMs);
        if (app !== undefined) {
          const grace = setTimeout(() => app?.server.closeAllConnections(), config.shutdownGraceMs);
          grace.unref();
          await app.close();
          clearTimeout(grace);
        }
        // After the runs and requests that use them: ends every MCP stdio server process.
        await services.tools.closeConnections();
        await bus.close();
        await database.close();
      })();
      return closing;
    },
  };
}
