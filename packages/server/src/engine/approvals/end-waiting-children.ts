import type { RunError, RunEvent } from '@runyard/protocol';
import type { Store } from '../../store/index.ts';

/** A run's end as the transaction that wrote it stored it, to publish once it commits. */
export interface StoredEnd {
  runId: string;
  end: RunEvent;
}

/**
 * Ends the waiting children of a run that ends (cancelled while paused, or ended by its worker
 * after a child paused), and theirs: a paused child is run again only by its parent's next
 * execution, which will never come, and no worker claims a child, so left alone it would wait for
 * ever. Each gets `cancelled` and its `run-end`, in the caller's transaction.
 */
export async function endWaitingChildren(
  store: Store,
  parentRunId: string,
  error: RunError,
  finishedAt: string,
): Promise<StoredEnd[]> {
  const ended: StoredEnd[] = [];
  for (let parents = [parentRunId]; parents.length > 0;) {
    const next: string[] = [];
    for (const parent of parents) {
      for (const child of await store.runs.waitingChildren(parent)) {
        const completion = { status: 'cancelled' as const, output: null, error, finishedAt };
        if (!(await store.runs.cancelIfQueued(child.id, completion))) continue;
        const end: RunEvent = {
          seq: (await store.runEvents.lastSeq(child.id)) + 1,
          at: finishedAt,
          type: 'run-end',
          status: 'cancelled',
          output: null,
          error,
          usage: {
            inputTokens: child.inputTokens,
            outputTokens: child.outputTokens,
            totalTokens: child.inputTokens + child.outputTokens,
          },
          costUsd: child.costUsd,
        };
        await store.runEvents.append(child.id, [end]);
        ended.push({ runId: child.id, end });
        next.push(child.id);
      }
    }
    parents = next;
  }
  return ended;
}
