import type { Logger } from 'pino';
import type { Store } from '../store/index.ts';

const idempotencyRetentionMs = 24 * 60 * 60 * 1000;
const cleanupIntervalMs = 60 * 60 * 1000;

/** Hourly, deletes stored idempotent answers older than a day. Stop it with clearInterval. */
export function startIdempotencyCleanup(store: Store, logger: Logger): NodeJS.Timeout {
  const timer = setInterval(() => {
    store.idempotency
      .deleteOlderThan(new Date(Date.now() - idempotencyRetentionMs).toISOString())
      .catch((error: unknown) => logger.warn({ err: error }, 'idempotency cleanup failed'));
  }, cleanupIntervalMs);
  timer.unref();
  return timer;
}
