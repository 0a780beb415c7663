import type { RunError, RunEvent } from '@runyard/protocol';
import type { RunRecord, Store } from '../../store/index.ts';

/** A run's end as the transaction that wrote it stored it, to publish once it commits. */
export interface StoredEnd {
  runId: string;
  end: RunEvent;
}

/**
 * Cancels a run that no worker holds (queued, or paused in requires_action) and, with it, its
 * waiting children: each gets `cancelled` and a `run-end` with the usage it had, in the caller's
 * transaction. Nothing when the run is held or ended meanwhile (its worker ends it instead).
 */
export async function cancelUnheldRun(
  store: Store,
  run: RunRecord,
  error: RunError,
  finishedAt: string,
): Promise<StoredEnd[]> {
  if (!(await store.runs.cancelIfQueued(run.id, { status: 'cancelled', output: null, error, finishedAt }))) {
    return [];
  }
  const end: RunEvent = {
    seq: (await store.runEvents.lastSeq(run.id)) + 1,
    at: finishedAt,
    type: 'run-end',
    status: 'cancelled',
    output: null,
    error,
    usage: {
      inputTokens: run.inputTokens,
      outputTokens: run.outputTokens,
      totalTokens: run.inputTokens + run.outputTokens,
    },
    costUsd: run.costUsd,
  };
  await store.runEvents.append(run.id, [end]);
  return [{ runId: run.id, end }, ...(await endWaitingChildren(store, run.id, error, finishedAt))];
}

/**
 * Ends the waiting children of a run that ends (cancelled while paused, or ended by its worker
 * after a child paused), and theirs: a paused child is run again only by its parent's next
 * execution, which will never come, and no worker claims a child, so left alone it would wait for
 * ever.
 */
export async function endWaitingChildren(
  store: Store,
  parentRunId: string,
  error: RunError,
  finishedAt: string,
): Promise<StoredEnd[]> {
  const ended: StoredEnd[] = [];
  for (const child of await store.runs.waitingChildren(parentRunId)) {
    ended.push(...(await cancelUnheldRun(store, child, error, finishedAt)));
  }
  return ended;
}
