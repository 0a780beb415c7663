import type { RunEvent } from '@runyard/protocol';

export type BusSignal = { kind: 'runs-available' } | { kind: 'cancel'; runId: string };

/** Where a bus reports what it does not throw: a lost connection, a subscriber that threw. */
export type EventBusLogger = (message: string, error?: unknown) => void;

/**
 * Live fan-out of run events and control signals. The run_events table stays the source of truth:
 * the bus only says "there is more" quickly, and a subscriber that misses a message loses nothing
 * that a read of the table would not give back.
 */
export interface EventBus {
  /** Called after the events are durable. */
  publish(runId: string, events: readonly RunEvent[]): void;
  subscribe(runId: string, listener: (events: readonly RunEvent[]) => void): () => void;
  signal(signal: BusSignal): void;
  onSignal(listener: (signal: BusSignal) => void): () => void;
  close(): Promise<void>;
}

/**
 * One process: the embedded default, and the local half of the PostgreSQL bus. A listener that
 * throws is logged and stops neither the other listeners nor the publisher, which has already made
 * its events durable.
 */
export class LocalEventBus implements EventBus {
  private readonly runListeners = new Map<string, Set<(events: readonly RunEvent[]) => void>>();
  private readonly signalListeners = new Set<(signal: BusSignal) => void>();
  private closed = false;

  constructor(private readonly logger: EventBusLogger = () => undefined) {}

  publish(runId: string, events: readonly RunEvent[]): void {
    if (this.closed || events.length === 0) return;
    const listeners = this.runListeners.get(runId);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener(events);
      } catch (error) {
        this.logger(`event bus: a subscriber of run ${runId} threw`, error);
      }
    }
  }

  subscribe(runId: string, listener: (events: readonly RunEvent[]) => void): () => void {
    let listeners = this.runListeners.get(runId);
    if (listeners === undefined) {
      listeners = new Set();
      this.runListeners.set(runId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      // Only while the set is still the run's: a later subscription may have started a new one.
      if (listeners.size === 0 && this.runListeners.get(runId) === listeners) this.runListeners.delete(runId);
    };
  }

  /** Whether anyone in this process listens to the run (the PostgreSQL bus fetches only then). */
  hasSubscribers(runId: string): boolean {
    return this.runListeners.has(runId);
  }

  signal(signal: BusSignal): void {
    if (this.closed) return;
    for (const listener of this.signalListeners) {
      try {
        listener(signal);
      } catch (error) {
        this.logger('event bus: a signal listener threw', error);
      }
    }
  }

  onSignal(listener: (signal: BusSignal) => void): () => void {
    this.signalListeners.add(listener);
    return () => this.signalListeners.delete(listener);
  }

  /** From now on nothing is delivered. */
  close(): Promise<void> {
    this.closed = true;
    this.runListeners.clear();
    this.signalListeners.clear();
    return Promise.resolve();
  }
}
