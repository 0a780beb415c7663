import type { Run, RunError, RunStatus, Usage } from '@runyard/protocol';
import type { RuntoolsFields } from './agent-fields.ts';

/** Runyard's run statuses in runtools' words: an ended run is `completed`, `failed` or `cancelled`. */
export function runtoolsStatus(status: RunStatus): string {
  switch (status) {
    case 'succeeded':
      return 'completed';
    case 'requires_action':
      return 'waiting';
    case 'queued':
    case 'running':
    case 'failed':
    case 'cancelled':
      return status;
  }
}

/** Run error codes in runtools' lower-case style: MAX_ITERATIONS → max_iterations. */
export function runtoolsRunError(error: RunError | null): { code: string; message: string } | null {
  return error === null ? null : { code: error.code.toLowerCase(), message: error.message };
}

export function runtoolsUsage(usage: Usage): { inputTokens: number; outputTokens: number } {
  return { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens };
}

/** The non-streamed answer of `POST /v1/run`, inside runtools' `data` envelope. */
export function toRuntoolsRun(run: Run, fields: RuntoolsFields) {
  return {
    runId: run.id,
    sandboxId: fields.sandbox,
    executionMode: fields.executionMode,
    status: runtoolsStatus(run.status),
    result: run.output?.text ?? null,
    error: runtoolsRunError(run.error),
    usage: runtoolsUsage(run.usage),
    iterations: run.iterations,
    threadId: run.threadId,
  };
}
