import type { NewRunEvent, RunEvent } from '@runyard/protocol';
import type { EventBus } from '../../events/event-bus.ts';
import type { Store } from '../../store/index.ts';

/** Text deltas are written in batches at most this far apart; other events go out at once. */
const deltaBatchMs = 10;

/**
 * The writer of one run's event log. Each event gets the next seq; events are written in batches
 * (one insert for everything emitted in the same tick, text deltas up to `deltaBatchMs` later) and
 * published to live subscribers only once stored, so whatever a client saw live, a reconnect with
 * Last-Event-ID finds again.
 */
export class RunLog {
  private pending: RunEvent[] = [];
  /** Writes to store with the next batch of events (`attach`). */
  private attached: ((store: Store) => Promise<void>)[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    readonly runId: string,
    private readonly store: Store,
    private readonly bus: EventBus,
    private lastSeq: number,
  ) {}

  get seq(): number {
    return this.lastSeq;
  }

  emit(event: NewRunEvent): RunEvent {
    if (this.failure !== undefined) throw this.failure;
    this.lastSeq += 1;
    const numbered = { ...event, seq: this.lastSeq, at: new Date().toISOString() };
    this.pending.push(numbered);
    if (event.type === 'text-delta') {
      this.timer ??= setTimeout(() => this.startFlush(), deltaBatchMs);
    } else {
      // clearTimer, not clearTimeout: the timer may be an Immediate, which clearTimeout leaves
      // scheduled and then out of reach, to flush in the middle of `finish`.
      this.clearTimer();
      this.timer = setImmediate(() => this.startFlush());
    }
    return numbered;
  }

  /**
   * Stores `write` in the transaction of the next batch of events, without waiting for it: for a
   * write that must land no later than the events emitted after it (the audit row of a local tool's
   * call lands with the call's result, or before it).
   */
  attach(write: (store: Store) => Promise<void>): void {
    if (this.failure !== undefined) throw this.failure;
    this.attached.push(write);
    this.timer ??= setImmediate(() => this.startFlush());
  }

  /**
   * Resolves when every event emitted so far is stored and published. `alongside` is written in the
   * same transaction as those events (progress, an audit row): one commit instead of two, and a
   * reader never sees the one without the other.
   */
  async flush(alongside?: (store: Store) => Promise<void>): Promise<void> {
    if (alongside !== undefined) this.attach(alongside);
    this.startFlush();
    await this.writing;
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Writes the final events together with other writes that must land with them (the run's end,
   * the thread's messages), then publishes them. Events still pending (the last step's) go into
   * the same transaction, one commit fewer per run; should it fail, they are stored on their own
   * as `flush` would have, so the log keeps everything the run did.
   */
  async finish(
    events: NewRunEvent[],
    write: (store: Store, events: RunEvent[]) => Promise<void>,
  ): Promise<RunEvent[]> {
    this.clearTimer();
    // Earlier batches first: the log is written, and published, in seq order. A batch started
    // while waiting is waited for too, or the end would commit (and be published) before it.
    let writing: Promise<void>;
    do {
      writing = this.writing;
      await writing;
    } while (writing !== this.writing);
    if (this.failure !== undefined) throw this.failure;
    const pending = this.pending;
    const attached = this.attached;
    this.pending = [];
    this.attached = [];
    const numbered = events.map((event) => {
      this.lastSeq += 1;
      return { ...event, seq: this.lastSeq, at: new Date().toISOString() };
    });
    try {
      await this.store.transaction(async (store) => {
        await store.runEvents.append(this.runId, [...pending, ...numbered]);
        for (const attachedWrite of attached) await attachedWrite(store);
        await write(store, numbered);
      });
    } catch (error) {
      if (pending.length > 0 || attached.length > 0) {
        this.pending = pending;
        this.attached = attached;
        await this.flush().catch(() => undefined);
      }
      throw error;
    }
    this.bus.publish(this.runId, [...pending, ...numbered]);
    return numbered;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
  }

  private startFlush(): void {
    this.clearTimer();
    const writes = this.attached;
    if (this.pending.length === 0 && writes.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.attached = [];
    this.writing = this.writing.then(async () => {
      if (this.failure !== undefined) return;
      try {
        if (writes.length === 0) {
          await this.store.runEvents.append(this.runId, batch);
        } else {
          await this.store.transaction(async (store) => {
            if (batch.length > 0) await store.runEvents.append(this.runId, batch);
            for (const write of writes) await write(store);
          });
        }
        if (batch.length > 0) this.bus.publish(this.runId, batch);
      } catch (error) {
        this.failure = error;
      }
    });
  }
}
