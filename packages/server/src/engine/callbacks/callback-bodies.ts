import type { Run } from '@runyard/protocol';
import { idToUuid } from '../../shared/id-uuid-codec.ts';
import type { RunRecord } from '../../store/index.ts';
import { toRun } from '../runs/run-view.ts';

/**
 * The bodies POSTed to a run's `callbackUrl`. Pure functions of the stored run, so any worker
 * process renders them without the API. A run records its format in `options.callbackBody`; runs
 * without one get the Runyard run, as before.
 */

/** Make's error body (`{message, code, detail}`); for a run, `code` is the run error code. */
export interface MakeErrorBody {
  message: string;
  code: string;
  detail: string;
}

/** What Make's `POST …/agents/{agentId}/run` answers, and what a Make callback receives. */
export interface MakeRunResult {
  response: string;
  executionTimeMs?: number;
  threadId: string;
  lastAgentIterationId: string;
  /** Only in a callback, and only when the run did not succeed. */
  error?: MakeErrorBody;
}

/** The error of a run that ended failed or cancelled, in Make's shape. */
export function makeRunError(run: Pick<Run, 'status' | 'error'>): MakeErrorBody {
  return {
    message: run.status === 'cancelled' ? 'Agent run cancelled' : 'Agent run failed',
    code: run.error?.code ?? 'INTERNAL_ERROR',
    detail: run.error?.message ?? `the run ended ${run.status}`,
  };
}

/** `threadId` is the thread as the Make client names it (its own string, or our id as a uuid). */
export function makeRunResult(run: Run, threadId: string): MakeRunResult {
  return {
    response: run.output?.text ?? '',
    ...(run.durationMs !== null && { executionTimeMs: run.durationMs }),
    threadId,
    lastAgentIterationId: idToUuid(run.id),
  };
}

/** The callback body of an ended run, serialised once: a signature covers exactly these bytes. */
export function renderCallbackBody(record: RunRecord): string {
  const run = toRun(record);
  const format = record.options.callbackBody;
  if (format === undefined) return JSON.stringify(run);
  switch (format.format) {
    case 'make':
      return JSON.stringify({
        ...makeRunResult(run, format.threadId ?? (run.threadId === null ? '' : idToUuid(run.threadId))),
        ...(run.status !== 'succeeded' && { error: makeRunError(run) }),
      });
  }
}
