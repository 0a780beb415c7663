import type { NewRunEvent } from '@runyard/protocol';
import type { ApprovalRecord, RunRecord, Store, StoredRequiredAction } from '../../store/index.ts';
import type { LoopOutcome } from '../loop/agent-loop.ts';
import type { RunLog } from '../runs/run-log.ts';

export interface PauseDependencies {
  store: Store;
  newApprovalId: () => string;
  /** How long a pending approval waits before it expires (counts as denied). */
  approvalTimeoutMs: number;
}

/**
 * How a pause ended: `paused` in requires_action; `requeued` when every approval it would wait
 * for was decided before the pause committed (a child's, decided while this run still ran), so the
 * run went straight back to the queue; `not-running` when it had been cancelled meanwhile.
 */
export type PauseResult = 'paused' | 'requeued' | 'not-running';

/**
 * Pauses a run whose last step has calls that wait (docs/architecture/approvals.md). In one
 * transaction: the pending approvals, the `approval-requested` (or `tool-outputs-requested`)
 * events, and the run in requires_action without a lease: no worker holds it while it waits.
 * Approvals come first: client tool calls of the same step pause again once the approvals are
 * decided and the run resumed. A call of an agent tool whose child run paused waits for the
 * child's approvals: they are listed in this run's `requiredAction` and announced in its log too,
 * with the child's `runId`, so whoever follows this run sees what it waits for.
 */
export async function pauseRun(
  dependencies: PauseDependencies,
  run: RunRecord,
  log: RunLog,
  outcome: LoopOutcome,
): Promise<PauseResult> {
  const pending = outcome.pending ?? [];
  const now = new Date();
  const rootRunId = await rootOf(dependencies.store, run);
  const requested = pending.flatMap((call): { approval: ApprovalRecord; own: boolean }[] => {
    if (call.kind === 'child') return call.approvals.map((approval) => ({ approval, own: false }));
    if (call.kind === 'client') return [];
    const approval: ApprovalRecord = {
      id: dependencies.newApprovalId(),
      workspaceId: run.workspaceId,
      runId: run.id,
      rootRunId,
      agentId: run.agentId,
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      arguments: call.arguments,
      rule: call.rule,
      status: 'pending',
      scope: null,
      decidedBy: null,
      reason: null,
      expiresAt: new Date(now.getTime() + dependencies.approvalTimeoutMs).toISOString(),
      createdAt: now.toISOString(),
      decidedAt: null,
    };
    return [{ approval, own: true }];
  });
  let action: StoredRequiredAction;
  let events: NewRunEvent[];
  if (requested.length > 0) {
    action = { type: 'approval', approvals: requested.map(({ approval }) => approval.id) };
    events = requested.map(({ approval, own }) => ({
      type: 'approval-requested',
      approvalId: approval.id,
      toolCallId: approval.toolCallId,
      toolName: approval.toolName,
      input: approval.arguments,
      rule: approval.rule,
      ...(!own && { runId: approval.runId }),
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
  const own = requested.flatMap(({ approval, own: isOwn }) => (isOwn ? [approval] : []));
  const inherited = requested.flatMap(({ approval, own: isOwn }) => (isOwn ? [] : [approval.id]));
  const { state } = outcome;
  let result: PauseResult = 'not-running';
  await log
    .finish(events, async (store) => {
      const timestamp = now.toISOString();
      // The update comes first: on PostgreSQL it locks the row, so a decision of a child's
      // approval either committed before the read below or finds this run paused.
      const paused = await store.runs.pause(
        run.id,
        action,
        {
          inputTokens: state.usage.inputTokens,
          outputTokens: state.usage.outputTokens,
          costUsd: state.costUsd,
          costIncomplete: state.costIncomplete,
          iterations: state.iterations,
        },
        timestamp,
      );
      if (!paused) throw new NotRunning();
      await store.approvals.insert(own);
      result = 'paused';
      if (inherited.length === 0 || action.type !== 'approval') return;
      // A child's approval decided while this run still ran: its decision found this run not
      // paused and resumed nothing, so this run must not wait for it.
      const stillPending = new Set((await store.approvals.pendingAmong(inherited)).map(({ id }) => id));
      const waiting = action.approvals.filter((id) => !inherited.includes(id) || stillPending.has(id));
      if (waiting.length === action.approvals.length) return;
      if (waiting.length > 0) {
        await store.runs.setRequiredAction(run.id, { type: 'approval', approvals: waiting }, timestamp);
      } else {
        await store.runs.resume(run.id, timestamp);
        result = 'requeued';
      }
    })
    .catch((error: unknown) => {
      if (!(error instanceof NotRunning)) throw error;
    });
  return result;
}

/** The top-level run of a run's tree: every approval of the tree names it (`root_run_id`). */
async function rootOf(store: Store, run: RunRecord): Promise<string> {
  let current = run;
  for (let parentId = run.parentRunId ?? null; parentId !== null; parentId = current.parentRunId ?? null) {
    const parent = await store.runs.getById(parentId);
    if (parent === undefined) return parentId;
    current = parent;
  }
  return current.id;
}

class NotRunning extends Error {}
