import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { SecretBox } from '../core/crypto.ts';
import { newId } from '../core/ids.ts';
import { callbackSecretBinding } from '../core/runs-service.ts';
import type { Services } from '../core/services.ts';
import { expireApprovals } from '../engine/approvals/resolve-approval.ts';
import { CallbackScheduler, callbackDefaults } from '../engine/callbacks/callback-scheduler.ts';
import { costOf, priceOf } from '../engine/models/prices.ts';
import { RunWorker } from '../engine/runs/run-worker.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { DatabaseHandle, Store } from '../store/index.ts';

export interface WorkerRoleParts {
  config: Config;
  database: DatabaseHandle;
  store: Store;
  box: SecretBox;
  bus: EventBus;
  services: Services;
  logger: Logger;
}

/** What a process of role `all` or `worker` runs besides the API. */
export interface WorkerRole {
  /** Drains the worker (up to the grace period), then stops the callbacks and the approval sweep. */
  stop(): Promise<void>;
}

/**
 * The run worker, the callback scheduler and the sweep that expires approvals. Worker processes
 * deliver callbacks; an API process only schedules them (runs it cancels).
 */
export async function startWorkerRole(parts: WorkerRoleParts): Promise<WorkerRole> {
  const { config, database, store, box, bus, services, logger } = parts;
  const callbacks = new CallbackScheduler(store, {
    ...callbackDefaults,
    retryBaseMs: config.callbackRetryBaseMs,
    openSecret: (runId, sealed) => box.decrypt(sealed, callbackSecretBinding(runId)),
    newDeliveryId: () => newId('delivery'),
    onError: (error, context) => logger.error({ err: error }, context),
  });
  const worker = new RunWorker(
    {
      store,
      bus,
      resolveModels: (workspaceId, references) => services.modelAccess.resolveModels(workspaceId, references),
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
      onRunEnded: () => callbacks.pump(),
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
  callbacks.start();
  // Pending approvals expire (count as denied, their runs go on): checked at a tenth of the
  // timeout, between every 100 ms and every minute.
  const sweepMs = Math.min(60_000, Math.max(100, Math.floor(config.approvalTimeoutMs / 10)));
  const approvalSweep = setInterval(() => {
    expireApprovals(store, bus, new Date()).catch((error: unknown) =>
      logger.error({ err: error }, 'expiring approvals'),
    );
  }, sweepMs);
  approvalSweep.unref();

  return {
    async stop() {
      clearInterval(approvalSweep);
      const graceMs = config.shutdownGraceMs;
      logger.info({ worker: worker.owner, runs: worker.activeRuns, graceMs }, 'worker draining');
      const { finished, released } = await worker.stop(graceMs);
      logger.info({ worker: worker.owner, finished, released }, 'worker stopped');
      await callbacks.stop(graceMs);
    },
  };
}
