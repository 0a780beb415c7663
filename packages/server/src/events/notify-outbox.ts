import { sleep } from '@runyard/protocol';
import pg from 'pg';
import { backoffDelayMs, type BackoffRangeMs } from './backoff.ts';
import type { RunNotice } from './bus-notices.ts';
import type { BusSignal, EventBusLogger } from './event-bus.ts';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; ours are a few dozen. */
const maximumPayloadBytes = 7900;
const notifyAttempts = 4;

export interface NotifyOutboxOptions {
  connectionString: string;
  /** Stamped on every notification, so that this process can ignore its own. */
  origin: string;
  runEventsChannel: string;
  signalsChannel: string;
  logger: EventBusLogger;
  retryDelayMs: BackoffRangeMs;
}

type OutboxItem = { channel: 'run-events'; notice: RunNotice } | { channel: 'signals'; payload: string };

/**
 * The NOTIFYs of one process, sent one at a time in the order they were queued. A run has at most
 * one unsent notice, which later publishes widen: a burst of small batches costs a few NOTIFYs, not
 * one each.
 */
export class NotifyOutbox {
  private readonly pool: pg.Pool;
  /** Notifications not yet sent, in publish order. */
  private readonly outbox: OutboxItem[] = [];
  private readonly unsentNotices = new Map<string, RunNotice>();
  private sending: Promise<void> | undefined;

  constructor(private readonly options: NotifyOutboxOptions) {
    // One connection: notifications leave in the order they were queued.
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: 1,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client that loses its connection emits 'error' on the pool; the next query reconnects.
    this.pool.on('error', (error) => options.logger('event bus: notify connection lost', error));
  }

  /** Announces that events `first`..`seq` of the run are durable. */
  queueRunNotice(runId: string, first: number, seq: number): void {
    const unsent = this.unsentNotices.get(runId);
    if (unsent !== undefined) {
      unsent.first = Math.min(unsent.first, first);
      unsent.seq = Math.max(unsent.seq, seq);
      return;
    }
    const notice: RunNotice = { origin: this.options.origin, runId, first, seq };
    this.unsentNotices.set(runId, notice);
    this.queue({ channel: 'run-events', notice });
  }

  queueSignal(signal: BusSignal): void {
    this.queue({ channel: 'signals', payload: JSON.stringify({ origin: this.options.origin, signal }) });
  }

  /** Sends what is queued, then ends the connection. */
  async close(): Promise<void> {
    await this.sending;
    await this.pool.end().catch(() => undefined);
  }

  private queue(item: OutboxItem): void {
    this.outbox.push(item);
    this.sending ??= this.drain();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const item = this.outbox.shift();
      if (item === undefined) {
        // Cleared in the same turn as the emptiness check, so a later queue() starts a new drain.
        this.sending = undefined;
        return;
      }
      if (item.channel === 'run-events') {
        // From now on a publish of this run queues a new notice rather than widening the sent one.
        this.unsentNotices.delete(item.notice.runId);
        await this.notify(this.options.runEventsChannel, JSON.stringify(item.notice));
      } else {
        await this.notify(this.options.signalsChannel, item.payload);
      }
    }
  }

  /** Never throws: a notice that cannot be sent costs the other processes latency, not events. */
  private async notify(channel: string, payload: string): Promise<void> {
    const { logger, retryDelayMs } = this.options;
    if (Buffer.byteLength(payload) > maximumPayloadBytes) {
      logger(`event bus: dropped a notification of ${Buffer.byteLength(payload)} bytes on ${channel}`);
      return;
    }
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.pool.query('select pg_notify($1, $2)', [channel, payload]);
        return;
      } catch (error) {
        if (attempt + 1 >= notifyAttempts) {
          logger(`event bus: NOTIFY on ${channel} failed; giving up on this notification`, error);
          return;
        }
        await sleep(backoffDelayMs(retryDelayMs, attempt));
      }
    }
  }
}
