import type { RunEvent } from '@runyard/protocol';
import type { Store } from '../store/index.ts';
import { backoffDelayMs, type BackoffRangeMs } from './backoff.ts';
import type { RunNotice } from './bus-notices.ts';
import type { EventBusLogger, LocalEventBus } from './event-bus.ts';

/** How many events one read of the table returns while catching up. */
const pageSize = 1000;

export interface RunDeliveryOptions {
  /** Where the events are read from when another process announces them. */
  store: Store;
  /** This process's subscribers. */
  local: LocalEventBus;
  logger: EventBusLogger;
  retryDelayMs: BackoffRangeMs;
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

/**
 * The fan-out of run events to this process's subscribers on the PostgreSQL bus: events this
 * process published are delivered at once, events another process announced are read from
 * run_events (the source of truth), and either way each run's subscribers get its events in seq
 * order, exactly once. Only runs with subscribers here cost anything.
 */
export class RunDelivery {
  private readonly runs = new Map<string, RunCursor>();
  private closed = false;

  constructor(private readonly options: RunDeliveryOptions) {}

  subscribe(runId: string, listener: (events: readonly RunEvent[]) => void): () => void {
    const { local } = this.options;
    const unsubscribe = local.subscribe(runId, listener);
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
      if (local.hasSubscribers(runId)) return;
      const cursor = this.runs.get(runId);
      if (cursor !== undefined) clearTimeout(cursor.retryTimer);
      this.runs.delete(runId);
    };
  }

  /** Events this process made durable: delivered at once when they continue the run's log here. */
  published(runId: string, events: readonly RunEvent[]): void {
    const cursor = this.runs.get(runId);
    if (cursor === undefined) return;
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
    this.options.local.publish(runId, fresh);
    if (cursor.announced > last.seq) this.requestFetch(runId, cursor);
  }

  /** Another process announced events of a run: read them when anyone here follows it. */
  announced(notice: RunNotice): void {
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

  /** After notifications may have been missed: every followed run reads what it has not delivered. */
  catchUpAll(): void {
    for (const [runId, cursor] of this.runs) {
      cursor.delivered ??= cursor.baseline;
      if (cursor.delivered !== undefined) this.requestFetch(runId, cursor);
    }
  }

  close(): void {
    this.closed = true;
    for (const cursor of this.runs.values()) clearTimeout(cursor.retryTimer);
    this.runs.clear();
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
      this.options.logger(`event bus: reading the events of run ${runId} failed; retrying`, error);
      if (this.isCurrent(runId, cursor)) {
        clearTimeout(cursor.retryTimer);
        cursor.retryTimer = setTimeout(
          () => {
            cursor.retryTimer = undefined;
            if (this.isCurrent(runId, cursor)) this.requestFetch(runId, cursor);
          },
          backoffDelayMs(this.options.retryDelayMs, cursor.failures - 1),
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
      const events = await this.options.store.runEvents.list(runId, after, pageSize);
      // Unsubscribed (or closed) meanwhile: a new subscription starts its own cursor.
      if (!this.isCurrent(runId, cursor)) return;
      // Only the unbroken continuation: a gap is a batch not yet committed, whose notice will come.
      let count = 0;
      while (count < events.length && events[count]?.seq === after + 1 + count) count += 1;
      if (count > 0) {
        cursor.delivered = after + count;
        this.options.local.publish(runId, count === events.length ? events : events.slice(0, count));
      }
      if (events.length < pageSize || count < events.length) return;
    }
  }

  private async loadBaseline(runId: string, cursor: RunCursor): Promise<void> {
    try {
      cursor.baseline = await this.options.store.runEvents.lastSeq(runId);
    } catch (error) {
      this.options.logger(`event bus: reading the last seq of run ${runId} failed`, error);
    }
  }

  private isCurrent(runId: string, cursor: RunCursor): boolean {
    return !this.closed && this.runs.get(runId) === cursor;
  }
}
