import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { RunEvent } from '@runyard/protocol';
import type { Store } from '../store/index.ts';
import type { BackoffRangeMs } from './backoff.ts';
import {
  channelName,
  parseRunNotice,
  parseSignalNotice,
  runEventsChannel,
  signalsChannel,
} from './bus-notices.ts';
import { LocalEventBus, type BusSignal, type EventBus, type EventBusLogger } from './event-bus.ts';
import { ListenConnection } from './listen-connection.ts';
import { NotifyOutbox } from './notify-outbox.ts';
import { RunDelivery } from './run-delivery.ts';

export interface PostgresEventBusOptions {
  /** The DATABASE_URL of the store; `?schema=` is honoured as in store/connect.ts. */
  databaseUrl: string;
  /** Where the events are read from when another process announces them. */
  store: Store;
  logger?: EventBusLogger;
  /**
   * Backoff of the LISTEN connection's reconnects (and of NOTIFYs and reads that failed): doubles
   * from `initial` up to `maximum`.
   */
  reconnectDelayMs?: BackoffRangeMs;
  /** How often the idle LISTEN connection is probed, so a silently dead one is noticed. */
  healthCheckIntervalMs?: number;
}

/**
 * The event bus of many processes sharing one PostgreSQL database. Each process delivers its own
 * events at once through a LocalEventBus, then NOTIFYs a small notice (`notify-outbox.ts`); a
 * process whose subscribers follow that run reads the new events from run_events (the source of
 * truth) and delivers them in seq order, exactly once per run (`run-delivery.ts`). A lost
 * notification costs latency, never events: the next one, or the catch-up after the LISTEN
 * connection is back (`listen-connection.ts`), reads everything after the last delivered seq.
 */
export class PostgresEventBus implements EventBus {
  /** Identifies this instance's notifications, which it has delivered already and ignores. */
  readonly origin = randomBytes(8).toString('hex');
  private readonly local: LocalEventBus;
  private readonly runEventsChannelName: string;
  private readonly signalsChannelName: string;
  private readonly logger: EventBusLogger;
  private readonly delivery: RunDelivery;
  private readonly outbox: NotifyOutbox;
  private readonly listen: ListenConnection;
  private closed = false;

  private constructor(connectionString: string, schema: string | null, options: PostgresEventBusOptions) {
    this.runEventsChannelName = channelName(runEventsChannel, schema);
    this.signalsChannelName = channelName(signalsChannel, schema);
    this.logger = options.logger ?? (() => undefined);
    // Its subscribers and signal listeners: one that throws is logged and stops no one.
    this.local = new LocalEventBus(this.logger);
    const retryDelayMs = options.reconnectDelayMs ?? { initial: 100, maximum: 5000 };
    this.delivery = new RunDelivery({
      store: options.store,
      local: this.local,
      logger: this.logger,
      retryDelayMs,
    });
    this.outbox = new NotifyOutbox({
      connectionString,
      origin: this.origin,
      runEventsChannel: this.runEventsChannelName,
      signalsChannel: this.signalsChannelName,
      logger: this.logger,
      retryDelayMs,
    });
    this.listen = new ListenConnection({
      connectionString,
      channels: [this.runEventsChannelName, this.signalsChannelName],
      logger: this.logger,
      reconnectDelayMs: retryDelayMs,
      healthCheckIntervalMs: options.healthCheckIntervalMs ?? 30_000,
      onNotification: (message) => this.onNotification(message),
      onReconnected: () => {
        this.local.signal({ kind: 'runs-available' });
        this.delivery.catchUpAll();
      },
    });
  }

  static async create(options: PostgresEventBusOptions): Promise<PostgresEventBus> {
    const { connectionString, schema } = parseDatabaseUrl(options.databaseUrl);
    const bus = new PostgresEventBus(connectionString, schema, options);
    try {
      await bus.listen.open();
    } catch (error) {
      await bus.outbox.close();
      throw error;
    }
    return bus;
  }

  /** The backend pid of the LISTEN connection, while there is one (for diagnostics and tests). */
  get listenerProcessId(): number | undefined {
    return this.listen.processId;
  }

  publish(runId: string, events: readonly RunEvent[]): void {
    const first = events[0];
    const last = events[events.length - 1];
    if (first === undefined || last === undefined || this.closed) return;
    this.delivery.published(runId, events);
    this.outbox.queueRunNotice(runId, first.seq, last.seq);
  }

  subscribe(runId: string, listener: (events: readonly RunEvent[]) => void): () => void {
    return this.delivery.subscribe(runId, listener);
  }

  signal(signal: BusSignal): void {
    if (this.closed) return;
    this.local.signal(signal);
    this.outbox.queueSignal(signal);
  }

  onSignal(listener: (signal: BusSignal) => void): () => void {
    return this.local.onSignal(listener);
  }

  /** Stops listening and reconnecting; notifications already queued are still sent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.delivery.close();
    await Promise.all([this.listen.close(), this.outbox.close()]);
    await this.local.close();
  }

  private onNotification(message: pg.Notification): void {
    if (this.closed || message.payload === undefined) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message.payload);
    } catch (error) {
      this.logger(`event bus: ignored a malformed notification on ${message.channel}`, error);
      return;
    }
    if (message.channel === this.runEventsChannelName) {
      const notice = parseRunNotice(payload);
      if (notice === undefined)
        this.logger(`event bus: ignored a malformed notification on ${message.channel}`);
      else if (notice.origin !== this.origin) this.delivery.announced(notice);
    } else if (message.channel === this.signalsChannelName) {
      const remote = parseSignalNotice(payload);
      if (remote === undefined)
        this.logger(`event bus: ignored a malformed notification on ${message.channel}`);
      else if (remote.origin !== this.origin) this.local.signal(remote.signal);
    }
  }
}

export function createPostgresEventBus(options: PostgresEventBusOptions): Promise<PostgresEventBus> {
  return PostgresEventBus.create(options);
}

/** The connection string for pg (without Runyard's `schema` parameter) and that schema. */
function parseDatabaseUrl(databaseUrl: string): { connectionString: string; schema: string | null } {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), schema };
}
