import pg from 'pg';
import { backoffDelayMs, type BackoffRangeMs } from './backoff.ts';
import type { EventBusLogger } from './event-bus.ts';

export interface ListenConnectionOptions {
  connectionString: string;
  channels: readonly string[];
  logger: EventBusLogger;
  reconnectDelayMs: BackoffRangeMs;
  /** How often the idle connection is probed, so a silently dead one is noticed. */
  healthCheckIntervalMs: number;
  onNotification: (message: pg.Notification) => void;
  /**
   * Listening again after the connection was lost: anything committed from now on is announced, and
   * what was committed while no one listened must be read now.
   */
  onReconnected: () => void;
}

/**
 * The one connection of a process that LISTENs on the bus's channels. A lost connection (an error,
 * its end, or a health check without an answer) is logged, never thrown, and replaced with backoff
 * until the bus closes.
 */
export class ListenConnection {
  private client: pg.Client | undefined;
  private clientProcessId: number | undefined;
  private closed = false;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ListenConnectionOptions) {}

  /** The first connection: its failure is the caller's (nothing is retried yet). */
  async open(): Promise<void> {
    await this.connect();
    this.healthTimer = setInterval(() => this.checkHealth(), this.options.healthCheckIntervalMs);
    this.healthTimer.unref();
  }

  /** The backend pid of the connection, while there is one (for diagnostics and tests). */
  get processId(): number | undefined {
    return this.clientProcessId;
  }

  /** Stops listening and reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.healthTimer);
    const client = this.client;
    this.client = undefined;
    this.clientProcessId = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, undefined));
    client.on('notification', (message) => this.options.onNotification(message));
    try {
      await client.connect();
      for (const channel of this.options.channels) {
        await client.query(`listen ${client.escapeIdentifier(channel)}`);
      }
      const result = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      if (this.closed) throw new Error('the event bus closed while connecting');
      this.client = client;
      this.clientProcessId = result.rows[0]?.pid;
    } catch (error) {
      client.removeAllListeners('notification');
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** The connection failed or ended: notifications are being missed until a new one listens. */
  private lost(client: pg.Client, error: Error | undefined): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.clientProcessId = undefined;
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    this.options.logger('event bus: the LISTEN connection was lost; reconnecting', error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const delay = backoffDelayMs(this.options.reconnectDelayMs, this.reconnectAttempt);
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
      this.options.logger('event bus: reconnecting the LISTEN connection failed', error);
      this.scheduleReconnect();
      return;
    }
    this.reconnectAttempt = 0;
    this.options.logger('event bus: the LISTEN connection is back');
    this.options.onReconnected();
  }

  private checkHealth(): void {
    const client = this.client;
    if (client === undefined || this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('health check timed out')), 10_000);
    });
    void Promise.race([client.query('select 1'), timeout])
      .catch((error: unknown) => this.lost(client, error instanceof Error ? error : new Error(String(error))))
      .finally(() => clearTimeout(timer));
  }
}
