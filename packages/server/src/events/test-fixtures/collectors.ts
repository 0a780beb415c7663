import { sleep, type RunEvent } from '@runyard/protocol';
import { waitUntil as waitUntilShared } from '../../../../../test/support/wait-until.ts';
import type { BusSignal, EventBus } from '../event-bus.ts';

/** The seqs one subscription of a run received, in the order it received them. */
export interface Collector {
  seqs: number[];
  batches: (readonly RunEvent[])[];
  unsubscribe: () => void;
}

export function collect(bus: EventBus, runId: string): Collector {
  const seqs: number[] = [];
  const batches: (readonly RunEvent[])[] = [];
  const unsubscribe = bus.subscribe(runId, (events: readonly RunEvent[]) => {
    batches.push(events);
    for (const event of events) seqs.push(event.seq);
  });
  return { seqs, batches, unsubscribe };
}

export function collectSignals(bus: EventBus): BusSignal[] {
  const signals: BusSignal[] = [];
  bus.onSignal((signal) => signals.push(signal));
  return signals;
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/** The shared polling helper (test/support/wait-until.ts), for a condition and what it waits for. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitUntilShared(condition, { what, timeoutMs, intervalMs: 10 });
}

/** Long enough for a stray duplicate notification to have arrived and been handled. */
export function settle(): Promise<void> {
  return sleep(300);
}
