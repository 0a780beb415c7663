import { isFinalRunStatus, type RunEvent } from '@runyard/protocol';
import type { EventBus } from '../events/event-bus.ts';
import type { Store } from '../store/index.ts';

const pageSize = 1000;

/**
 * The events of one run after `afterSeq`, stored ones first, then live ones as they are published,
 * ending after `run-end`. Subscribes before it reads, and takes a live batch only when it continues
 * exactly where the reader is (otherwise it reads the table), so no event is skipped or repeated.
 */
export async function* runEventStream(
  store: Store,
  bus: EventBus,
  runId: string,
  afterSeq: number,
  signal: AbortSignal,
): AsyncGenerator<RunEvent, void, undefined> {
  let lastSeq = afterSeq;
  let live: RunEvent[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = bus.subscribe(runId, (events) => {
    live.push(...events);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    // Read before the table: a run that had ended then has all its events stored (its end and its
    // run-end event share a transaction), so a reader already past run-end stops instead of waiting.
    const endedBefore = isFinalRunStatus((await store.runs.getById(runId))?.status ?? 'succeeded');
    for (;;) {
      // Stored events first (and whenever the live feed has a gap).
      for (;;) {
        const page = await store.runEvents.list(runId, lastSeq, pageSize);
        for (const event of page) {
          lastSeq = event.seq;
          yield event;
          if (event.type === 'run-end') return;
        }
        if (page.length < pageSize) break;
      }
      if (endedBefore) return;
      for (;;) {
        if (signal.aborted) return;
        const batch = live.filter((event) => event.seq > lastSeq);
        live = [];
        if (batch.length === 0) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        // A gap anywhere in the batch sends the reader back to the table, which has every event.
        const contiguous = batch.every((event, index) => event.seq === lastSeq + 1 + index);
        if (!contiguous) break;
        for (const event of batch) {
          lastSeq = event.seq;
          yield event;
          if (event.type === 'run-end') return;
        }
      }
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}
