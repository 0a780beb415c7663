import type { RunEvent } from '@runyard/protocol';
import type { Store } from '../../store/index.ts';
import type { EventBus } from '../event-bus.ts';

/** Valid text-delta events `from`, `from + 1`, … for `count` seqs. */
export function textDeltas(from: number, count: number): RunEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    seq: from + index,
    at: new Date().toISOString(),
    type: 'text-delta' as const,
    step: 1,
    delta: `word ${from + index} `,
  }));
}

/**
 * What the engine does: makes each batch durable, then publishes it. Batches are 1 to `maximumBatch`
 * events long, varying, so that notices of many small batches pile up.
 */
export async function appendAndPublish(
  store: Store,
  bus: EventBus,
  runId: string,
  from: number,
  count: number,
  maximumBatch = 1,
): Promise<void> {
  let next = from;
  let batch = 0;
  while (next < from + count) {
    const size = Math.min(1 + (batch % maximumBatch), from + count - next);
    const events = textDeltas(next, size);
    await store.runEvents.append(runId, events);
    bus.publish(runId, events);
    next += size;
    batch += 1;
  }
}
