import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { backoffDelayMs, sleep, type RunEvent } from '@runyard/protocol';
import type { Store } from '../store/index.ts';
import { LocalEventBus, type BusSignal, type EventBus } from './event-bus.ts';

export const runEventsChannel = 'runyard_run_events';
export const signalsChannel = 'runyard_signals';

/** How many events one read of the table returns while catching up. */
const pageSize = 1000;
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; ours are a few dozen. */
const maximumPayloadBytes = 7900;
/** PostgreSQL identifiers (and so channel names) hold at most 63 bytes. */
const maximumChannelLength = 63;
const notifyAttempts = 4;

export interface ReconnectDelay {
  initial: number;
  maximum: number;
  random?: () => number;
}

export type EventBusLogger = (message: string, error?: unknown) => void;

export interface PostgresEventBusOptions {
  /** The DATABASE_URL of the store; `?schema=` is honoured as in store/connect.ts. */
  databaseUrl: string;
  /** Where the events are read from when another process announces them. */
  store: Store;
  logger?: EventBusLogger;
  /**
   * Reconnect backoff of the LISTEN connection: full jitter, doubling from `initial` up to `maximum`
   * (ms). `random` is the jitter's draw (Math.random; a test pins it to know how long a reconnect takes).
   */
  reconnectDelay?: ReconnectDelay;
  /** How often the idle LISTEN connection is probed, so a silently dead one is noticed (ms). */
  healthCheckInterval?: number;
}

/** What a run-events notification carries: never the events themselves, only where they end. */
interface RunNotice {
  origin: string;
  runId: string;
  /** The first seq of the announced events: where a process that knew nothing of the run starts. */
  first: number;
  /** The last seq of the announced events. */
  seq: number;
}

/** Delivery state of one run that has subscribers in this process. */
interface RunCursor {
  /**
   * The last seq handed to this process's subscribers: every delivery continues it by exactly one,
   * so no seq is delivered twice or out of order. Undefined until the first notification (or local
   * publish) after the first subscription says where the run stands.
   */
  delivered: number | undefined;
  /**
   * The run's last seq when it got its first subscriber: where catching up starts after a
   * reconnect while `delivered` is still unknown.
   */
  baseline: number | undefined;
  /**
   * The highest seq this process published past a gap. A read stops at a gap, so when a later
   * local publish fills it, the events after it are read again from the table.
   */
  announced: number;
  /** A read of the table is under way; reads of one run never overlap. */
  fetching: boolean;
  /** More was announced while a read was under way: the read goes round again. */
  again: boolean;
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

type OutboxItem = { channel: 'run-events'; notice: RunNotice } | { channel: 'signals'; payload: string };

/**
 * The event bus of many processes sharing one PostgreSQL database. Each process delivers its own
 * events at once through a LocalEventBus, then NOTIFYs a small notice; a process whose subscribers
 * follow that run reads the new events from run_events (the source of truth) and delivers them in
 * seq order, exactly once per run. A lost notification costs latency, never events: the next one,
 * or the catch-up after a reconnect, reads everything after the last delivered seq.
 */
export class PostgresEventBus implements EventBus {
  /** Identifies this instance's notifications, which it has delivered already and ignores. */
  readonly origin = randomBytes(8).toString('hex');
  private readonly local = new LocalEventBus();
  private readonly runs = new Map<string, RunCursor>();
  private readonly runEventsChannelName: string;
  private readonly signalsChannelName: string;
  private readonly notifyPool: pg.Pool;
  private readonly logger: EventBusLogger;
  private readonly reconnectDelay: ReconnectDelay;
  private readonly healthCheckInterval: number;

  private listener: pg.Client | undefined;
  private listenerPid: number | undefined;
  private closed = false;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;

  /**
   * Notifications not yet sent, in publish order. A run has at most one unsent notice, which later
   * publishes widen: a burst of small batches costs a few NOTIFYs, not one each.
   */
  private readonly outbox: OutboxItem[] = [];
  private readonly unsentNotices = new Map<string, RunNotice>();
  private sending: Promise<void> | undefined;

  private constructor(
    private readonly connectionString: string,
    schema: string | null,
    private readonly store: Store,
    options: PostgresEventBusOptions,
  ) {
    this.runEventsChannelName = channelName(runEventsChannel, schema);
    this.signalsChannelName = channelName(signalsChannel, schema);
    this.logger = options.logger ?? (() => undefined);
    this.reconnectDelay = options.reconnectDelay ?? { initial: 100, maximum: 5000 };
    this.healthCheckInterval = options.healthCheckInterval ?? 30_000;
    // One connection: notifications leave in the order they were queued.
    this.notifyPool = new pg.Pool({
      connectionString,
      max: 1,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client that loses its connection emits 'error' on the pool; the next query reconnects.
    this.notifyPool.on('error', (error) => this.logger('event bus: notify connection lost', error));
  }

  static async create(options: PostgresEventBusOptions): Promise<PostgresEventBus> {
    const { connectionString, schema } = parseDatabaseUrl(options.databaseUrl);
    const bus = new PostgresEventBus(connectionString, schema, options.store, options);
    try {
      await bus.connect();
    } catch (error) {
      await bus.notifyPool.end().catch(() => undefined);
      throw error;
    }
    bus.healthTimer = setInterval(() => bus.checkHealth(), bus.healthCheckInterval);
    bus.healthTimer.unref();
    return bus;
  }

  /** The backend pid of the LISTEN connection, while there is one (for diagnostics and tests). */
  get listenerProcessId(): number | undefined {
    return this.listenerPid;
  }

  publish(runId: string, events: readonly RunEvent[]): void {
    const first = events[0];
    const last = events[events.length - 1];
    if (first === undefined || last === undefined || this.closed) return;
    const cursor = this.runs.get(runId);
    if (cursor !== undefined) this.deliverPublished(runId, cursor, events);
    this.queueNotice(runId, first.seq, last.seq);
  }

  subscribe(runId: string, listener: (events: readonly RunEvent[]) => void): () => void {
    const unsubscribe = this.local.subscribe(runId, listener);
    if (!this.runs.has(runId) && !this.closed) {
      const cursor: RunCursor = {
        delivered: undefined,
        baseline: undefined,
        announced: 0,
        fetching: false,
        again: false,
        failures: 0,
        retryTimer: undefined,
      };
      this.runs.set(runId, cursor);
      void this.loadBaseline(runId, cursor);
    }
    return () => {
      unsubscribe();
      if (this.local.hasSubscribers(runId)) return;
      const cursor = this.runs.get(runId);
      if (cursor !== undefined) clearTimeout(cursor.retryTimer);
      this.runs.delete(runId);
    };
  }

  signal(signal: BusSignal): void {
    if (this.closed) return;
    this.emitSignal(signal);
    this.queue({ channel: 'signals', payload: JSON.stringify({ origin: this.origin, signal }) });
  }

  onSignal(listener: (signal: BusSignal) => void): () => void {
    return this.local.onSignal(listener);
  }

  /** Stops listening and reconnecting; notifications already queued are still sent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.healthTimer);
    for (const cursor of this.runs.values()) clearTimeout(cursor.retryTimer);
    this.runs.clear();
    const listener = this.listener;
    this.listener = undefined;
    this.listenerPid = undefined;
    await Promise.all([
      listener?.end().catch(() => undefined),
      (async () => {
        await this.sending;
        await this.notifyPool.end().catch(() => undefined);
      })(),
    ]);
    await this.local.close();
  }

  // --- delivery -------------------------------------------------------------------------------

  /** Events this process made durable: delivered at once when they continue the run's log here. */
  private deliverPublished(runId: string, cursor: RunCursor, events: readonly RunEvent[]): void {
    // A read under way would race this delivery; it reads these events too, since they are durable.
    if (cursor.fetching) {
      cursor.again = true;
      return;
    }
    const delivered = cursor.delivered;
    const fresh = delivered === undefined ? events : events.filter((event) => event.seq > delivered);
    const first = fresh[0];
    const last = fresh[fresh.length - 1];
    if (first === undefined || last === undefined) return;
    if (delivered !== undefined && first.seq !== delivered + 1) {
      // Another process wrote the events between: the table gives them back in order.
      cursor.announced = Math.max(cursor.announced, last.seq);
      this.requestFetch(runId, cursor);
      return;
    }
    cursor.delivered = last.seq;
    this.emit(runId, fresh);
    if (cursor.announced > last.seq) this.requestFetch(runId, cursor);
  }

  private requestFetch(runId: string, cursor: RunCursor): void {
    if (cursor.fetching) {
      cursor.again = true;
      return;
    }
    cursor.fetching = true;
    void this.fetchLoop(runId, cursor);
  }

  private async fetchLoop(runId: string, cursor: RunCursor): Promise<void> {
    try {
      do {
        cursor.again = false;
        await this.catchUp(runId, cursor);
      } while (cursor.again && this.isCurrent(runId, cursor));
      cursor.failures = 0;
    } catch (error) {
      cursor.failures += 1;
      this.logger(`event bus: reading the events of run ${runId} failed; retrying`, error);
      if (this.isCurrent(runId, cursor)) {
        clearTimeout(cursor.retryTimer);
        cursor.retryTimer = setTimeout(
          () => {
            cursor.retryTimer = undefined;
            if (this.isCurrent(runId, cursor)) this.requestFetch(runId, cursor);
          },
          this.backoff(cursor.failures - 1),
        );
        cursor.retryTimer.unref();
      }
    } finally {
      cursor.fetching = false;
    }
  }

  /** Reads and delivers what follows `delivered`, page by page, stopping at a gap in the seqs. */
  private async catchUp(runId: string, cursor: RunCursor): Promise<void> {
    for (;;) {
      const after = cursor.delivered;
      if (after === undefined || !this.isCurrent(runId, cursor)) return;
      const events = await this.store.runEvents.list(runId, after, pageSize);
      // Unsubscribed (or closed) meanwhile: a new subscription starts its own cursor.
      if (!this.isCurrent(runId, cursor)) return;
      // Only the unbroken continuation: a gap is a batch not yet committed, whose notice will come.
      let count = 0;
      while (count < events.length && events[count]?.seq === after + 1 + count) count += 1;
      if (count > 0) {
        cursor.delivered = after + count;
        this.emit(runId, count === events.length ? events : events.slice(0, count));
      }
      if (events.length < pageSize || count < events.length) return;
    }
  }

  private async loadBaseline(runId: string, cursor: RunCursor): Promise<void> {
    try {
      cursor.baseline = await this.store.runEvents.lastSeq(runId);
    } catch (error) {
      this.logger(`event bus: reading the last seq of run ${runId} failed`, error);
    }
  }

  private isCurrent(runId: string, cursor: RunCursor): boolean {
    return !this.closed && this.runs.get(runId) === cursor;
  }

  /** A subscriber that throws must not stop the others, the notification, or the process. */
  private emit(runId: string, events: readonly RunEvent[]): void {
    try {
      this.local.publish(runId, events);
    } catch (error) {
      this.logger(`event bus: a subscriber of run ${runId} threw`, error);
    }
  }

  private emitSignal(signal: BusSignal): void {
    try {
      this.local.signal(signal);
    } catch (error) {
      this.logger('event bus: a signal listener threw', error);
    }
  }

  // --- notifications in -----------------------------------------------------------------------

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
      else if (notice.origin !== this.origin) this.onRunNotice(notice);
    } else if (message.channel === this.signalsChannelName) {
      const remote = parseSignalNotice(payload);
      if (remote === undefined)
        this.logger(`event bus: ignored a malformed notification on ${message.channel}`);
      else if (remote.origin !== this.origin) this.emitSignal(remote.signal);
    }
  }

  private onRunNotice(notice: RunNotice): void {
    const cursor = this.runs.get(notice.runId);
    if (cursor === undefined) return;
    if (cursor.delivered === undefined) {
      // The first notice since the first subscription: notices arrive in the order they were sent,
      // so every event committed after the subscription starts at or after `first`.
      cursor.delivered = notice.first - 1;
    } else if (notice.seq <= cursor.delivered) {
      return;
    }
    this.requestFetch(notice.runId, cursor);
  }

  // --- notifications out ----------------------------------------------------------------------

  private queueNotice(runId: string, first: number, seq: number): void {
    const unsent = this.unsentNotices.get(runId);
    if (unsent !== undefined) {
      unsent.first = Math.min(unsent.first, first);
      unsent.seq = Math.max(unsent.seq, seq);
      return;
    }
    const notice: RunNotice = { origin: this.origin, runId, first, seq };
    this.unsentNotices.set(runId, notice);
    this.queue({ channel: 'run-events', notice });
  }

  private queue(item: OutboxItem): void {
    this.outbox.push(item);
    this.sending ??= this.drainOutbox();
  }

  private async drainOutbox(): Promise<void> {
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
        await this.notify(this.runEventsChannelName, JSON.stringify(item.notice));
      } else {
        await this.notify(this.signalsChannelName, item.payload);
      }
    }
  }

  /** Never throws: a notice that cannot be sent costs the other processes latency, not events. */
  private async notify(channel: string, payload: string): Promise<void> {
    if (Buffer.byteLength(payload) > maximumPayloadBytes) {
      this.logger(`event bus: dropped a notification of ${Buffer.byteLength(payload)} bytes on ${channel}`);
      return;
    }
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.notifyPool.query('select pg_notify($1, $2)', [channel, payload]);
        return;
      } catch (error) {
        if (attempt + 1 >= notifyAttempts) {
          this.logger(`event bus: NOTIFY on ${channel} failed; giving up on this notification`, error);
          return;
        }
        await sleep(this.backoff(attempt));
      }
    }
  }

  // --- the LISTEN connection ------------------------------------------------------------------

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, undefined));
    client.on('notification', (message) => this.onNotification(message));
    try {
      await client.connect();
      for (const channel of [this.runEventsChannelName, this.signalsChannelName]) {
        await client.query(`listen ${client.escapeIdentifier(channel)}`);
      }
      const result = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      if (this.closed) throw new Error('the event bus closed while connecting');
      this.listener = client;
      this.listenerPid = result.rows[0]?.pid;
    } catch (error) {
      client.removeAllListeners('notification');
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** The LISTEN connection failed or ended: notifications are being missed until a new one listens. */
  private lost(client: pg.Client, error: Error | undefined): void {
    if (client !== this.listener) return;
    this.listener = undefined;
    this.listenerPid = undefined;
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    this.logger('event bus: the LISTEN connection was lost; reconnecting', error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const delay = this.backoff(this.reconnectAttempt);
    this.reconnectAttempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    try {
      await this.connect();
    } catch (error) {
      if (this.closed) return;
      this.logger('event bus: reconnecting the LISTEN connection failed', error);
      this.scheduleReconnect();
      return;
    }
    this.reconnectAttempt = 0;
    this.logger('event bus: the LISTEN connection is back');
    // Listening again before reading: anything committed from now on is announced, and anything
    // committed while no one listened is read now.
    this.emitSignal({ kind: 'runs-available' });
    for (const [runId, cursor] of this.runs) {
      cursor.delivered ??= cursor.baseline;
      if (cursor.delivered !== undefined) this.requestFetch(runId, cursor);
    }
  }

  private checkHealth(): void {
    const client = this.listener;
    if (client === undefined || this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('health check timed out')), 10_000);
    });
    void Promise.race([client.query('select 1'), timeout])
      .catch((error: unknown) => this.lost(client, error instanceof Error ? error : new Error(String(error))))
      .finally(() => clearTimeout(timer));
  }

  /** Full jitter (`backoffDelayMs`), so that many processes that lost PostgreSQL together do not retry in step. */
  private backoff(attempt: number): number {
    const { initial, maximum, random } = this.reconnectDelay;
    return backoffDelayMs(attempt, { baseMs: initial, capMs: maximum }, random);
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

/**
 * Channels belong to the database, not to a schema: deployments confined to schemas of one database
 * (and parallel test suites) get channels of their own, so they neither wake nor read each other.
 */
export function channelName(base: string, schema: string | null): string {
  if (schema === null) return base;
  const name = `${base}_${schema}`;
  if (name.length <= maximumChannelLength) return name;
  return `${base}_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

function parseRunNotice(value: unknown): RunNotice | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { origin, runId, first, seq } = value as Record<string, unknown>;
  if (typeof origin !== 'string' || typeof runId !== 'string') return undefined;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(seq)) return undefined;
  if ((first as number) < 1 || (seq as number) < (first as number)) return undefined;
  return { origin, runId, first: first as number, seq: seq as number };
}

function parseSignalNotice(value: unknown): { origin: string; signal: BusSignal } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { origin, signal } = value as Record<string, unknown>;
  if (typeof origin !== 'string' || typeof signal !== 'object' || signal === null) return undefined;
  const { kind, runId } = signal as Record<string, unknown>;
  if (kind === 'runs-available') return { origin, signal: { kind } };
  if (kind === 'cancel' && typeof runId === 'string') return { origin, signal: { kind, runId } };
  return undefined;
}
