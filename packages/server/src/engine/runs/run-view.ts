import type { Run } from '@runyard/protocol';
import type { RunRecord } from '../../store/index.ts';

/** The public shape of a run. */
export function toRun(record: RunRecord): Run {
  return {
    id: record.id,
    agentId: record.agentId,
    agentVersion: record.agentVersion,
    threadId: record.threadId,
    parentRunId: record.parentRunId ?? null,
    status: record.status,
    input: record.input,
    output: record.output,
    error: record.error,
    usage: {
      inputTokens: record.inputTokens,
      outputTokens: record.outputTokens,
      totalTokens: record.inputTokens + record.outputTokens,
    },
    costUsd: record.costUsd,
    costIncomplete: record.costIncomplete,
    iterations: record.iterations,
    metadata: record.metadata,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    durationMs:
      record.finishedAt === null || record.startedAt === null
        ? null
        : Math.max(0, Date.parse(record.finishedAt) - Date.parse(record.startedAt)),
    requiredAction: publicRequiredAction(record),
  };
}

/** Only a paused run waits for something; the stored step of client calls is the engine's own. */
function publicRequiredAction(record: RunRecord): Run['requiredAction'] {
  const action = record.status === 'requires_action' ? record.requiredAction : null;
  if (action === null || action === undefined) return null;
  if (action.type === 'approval') return { type: 'approval', approvals: action.approvals };
  return { type: 'tool_outputs', toolCalls: action.toolCalls };
}
