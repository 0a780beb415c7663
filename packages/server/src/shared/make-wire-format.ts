import type { Run } from '@runyard/protocol';
import { idToUuid } from './id-uuid-codec.ts';

/**
 * Make's wire format of a run's result and error: what `POST …/agents/{agentId}/run` answers and
 * what a Make callback receives. A leaf module, so both the Make compat surface (which answers with
 * it) and the engine's callback scheduler (which POSTs it from any worker process) render the same
 * bytes without the API importing the engine or the engine importing the API.
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

/** The thread as a Make answer names it: `threadId` when given, else the run's thread as a uuid. */
export function makeThreadId(run: Pick<Run, 'threadId'>, threadId: string | undefined): string {
  return threadId ?? (run.threadId === null ? '' : idToUuid(run.threadId));
}

/** `threadId` is the thread as the Make client is told it (see `makeThreadId`). */
export function makeRunResult(run: Run, threadId: string | undefined): MakeRunResult {
  return {
    response: run.output?.text ?? '',
    ...(run.durationMs !== null && { executionTimeMs: run.durationMs }),
    threadId: makeThreadId(run, threadId),
    lastAgentIterationId: idToUuid(run.id),
  };
}

/** The body POSTed to a Make run's `callbackUrl` once it ended: the result, plus the error if any. */
export function makeCallbackBody(run: Run, threadId: string | undefined): MakeRunResult {
  return {
    ...makeRunResult(run, threadId),
    ...(run.status !== 'succeeded' && { error: makeRunError(run) }),
  };
}
