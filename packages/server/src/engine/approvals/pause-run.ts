import type { NewRunEvent } from '@runyard/protocol';
import type { ApprovalRecord, RunRecord, StoredRequiredAction } from '../../store/index.ts';
import type { LoopOutcome } from '../agent-loop.ts';
import type { RunLog } from '../run-log.ts';

export interface PauseDependencies {
  newApprovalId: () => string;
  /** How long a pending approval waits before it expires (counts as denied). */
  approvalTimeoutMs: number;
}

/**
 * Pauses a run whose last step has calls that wait (docs/architecture/approvals.md). In one
 * transaction: the pending approvals, the `approval-requested` (or `tool-outputs-requested`)
 * events, and the run in requires_action without a lease: no worker holds it while it waits.
 * Approvals come first: client tool calls of the same step pause again once the approvals are
 * decided and the run resumed. Returns false when the run was no longer running (cancelled).
 */
export async function pauseRun(
  dependencies: PauseDependencies,
  run: RunRecord,
  log: RunLog,
  outcome: LoopOutcome,
): Promise<boolean> {
  const pending = outcome.pending ?? [];
  const now = new Date();
  const approvals: ApprovalRecord[] = pending.flatMap((call) =>
    call.kind === 'approval'
      ? [
          {
            id: dependencies.newApprovalId(),
            workspaceId: run.workspaceId,
            runId: run.id,
            rootRunId: run.parentRunId ?? run.id,
            agentId: run.agentId,
            toolCallId: call.toolCallId,
            toolName: call.toolName,
            arguments: call.arguments,
            rule: call.rule,
            status: 'pending' as const,
            scope: null,
            decidedBy: null,
            reason: null,
            expiresAt: new Date(now.getTime() + dependencies.approvalTimeoutMs).toISOString(),
            createdAt: now.toISOString(),
            decidedAt: null,
          },
        ]
      : [],
  );
  let action: StoredRequiredAction;
  let events: NewRunEvent[];
  if (approvals.length > 0) {
    action = { type: 'approval', approvals: approvals.map((approval) => approval.id) };
    events = approvals.map((approval) => ({
      type: 'approval-requested',
      approvalId: approval.id,
      toolCallId: approval.toolCallId,
      toolName: approval.toolName,
      input: approval.arguments,
      rule: approval.rule,
    }));
  } else {
    const calls = pending.flatMap((call) =>
      call.kind === 'client'
        ? [{ toolCallId: call.toolCallId, toolName: call.toolName, input: call.input }]
        : [],
    );
    action = { type: 'tool_outputs', step: outcome.state.iterations, toolCalls: calls };
    events = [{ type: 'tool-outputs-requested', toolCallIds: calls.map((call) => call.toolCallId), calls }];
  }
  const { state } = outcome;
  let paused = false;
  await log
    .finish(events, async (store) => {
      paused = await store.runs.pause(
        run.id,
        action,
        {
          inputTokens: state.usage.inputTokens,
          outputTokens: state.usage.outputTokens,
          costUsd: state.costUsd,
          costIncomplete: state.costIncomplete,
          iterations: state.iterations,
        },
        now.toISOString(),
      );
      if (!paused) throw new NotRunning();
      await store.approvals.insert(approvals);
    })
    .catch((error: unknown) => {
      if (!(error instanceof NotRunning)) throw error;
    });
  return paused;
}

class NotRunning extends Error {}
