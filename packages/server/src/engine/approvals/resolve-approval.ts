import type { RunEvent } from '@runyard/protocol';
import type { EventBus } from '../../events/event-bus.ts';
import type { ApprovalDecision, ApprovalGrant, ApprovalRecord, RunRecord, Store } from '../../store/index.ts';

export type ResolveResult = 'decided' | 'already-decided';

/**
 * Decides one pending approval. In one transaction: the decision (a compare-and-set on `pending`:
 * of two deciders exactly one wins), a window grant if any, and for the approval's run and each of
 * its ancestors (a child run's approval is waited for by its whole chain of parents) that waits
 * for it: an `approval-decided` event in its log and its shorter `requiredAction`, or, once it
 * waits for nothing more, its return to the queue. Only the top-level run is claimable: a worker
 * resumes it from its journal and it executes its paused children again (engine/runs/child-runs.ts).
 * Signals and events go out after the commit.
 */
export async function resolveApproval(
  store: Store,
  bus: EventBus,
  approval: ApprovalRecord,
  decision: ApprovalDecision,
  grant?: ApprovalGrant,
): Promise<ResolveResult> {
  const outcome = await store.transaction(async (transaction) => {
    if (!(await transaction.approvals.decide(approval.id, decision))) return undefined;
    if (grant !== undefined) await transaction.approvals.insertGrant(grant);
    const published: { runId: string; event: RunEvent }[] = [];
    let resumed = false;
    // Locked from the approval's run up (pauses lock one run each): a run that pauses at the same
    // time either sees this decision or is seen paused here (pause-run.ts).
    for (const run of await chainOf(transaction, approval.runId)) {
      const action = run.status === 'requires_action' ? run.requiredAction : null;
      if (action?.type !== 'approval' || !action.approvals.includes(approval.id)) continue;
      const event: RunEvent = {
        seq: (await transaction.runEvents.lastSeq(run.id)) + 1,
        at: decision.decidedAt,
        type: 'approval-decided',
        approvalId: approval.id,
        toolCallId: approval.toolCallId,
        status: decision.status,
        scope: decision.scope,
        reason: decision.reason,
        ...(run.id !== approval.runId && { runId: approval.runId }),
      };
      await transaction.runEvents.append(run.id, [event]);
      published.push({ runId: run.id, event });
      const remaining = action.approvals.filter((id) => id !== approval.id);
      if (remaining.length > 0) {
        await transaction.runs.setRequiredAction(
          run.id,
          { type: 'approval', approvals: remaining },
          decision.decidedAt,
        );
      } else if (await transaction.runs.resume(run.id, decision.decidedAt)) {
        // A child goes back to `queued` too, which no worker claims: its parent runs it again.
        resumed ||= (run.parentRunId ?? null) === null;
      }
    }
    return { published, resumed };
  });
  if (outcome === undefined) return 'already-decided';
  for (const { runId, event } of outcome.published) bus.publish(runId, [event]);
  if (outcome.resumed) bus.signal({ kind: 'runs-available' });
  return 'decided';
}

/** A run and its ancestors up to the top-level run, each row locked for the transaction. */
async function chainOf(transaction: Store, runId: string): Promise<RunRecord[]> {
  const chain: RunRecord[] = [];
  for (let id: string | null = runId; id !== null;) {
    const run = await transaction.runs.getForUpdate(id);
    if (run === undefined) break;
    chain.push(run);
    id = run.parentRunId ?? null;
  }
  return chain;
}

/** Expires the pending approvals whose time is up; each counts as denied and its run goes on. */
export async function expireApprovals(store: Store, bus: EventBus, now: Date): Promise<number> {
  let expired = 0;
  for (const approval of await store.approvals.due(now.toISOString(), 100)) {
    const result = await resolveApproval(store, bus, approval, {
      status: 'expired',
      scope: null,
      decidedBy: null,
      reason: 'nobody decided before the approval expired',
      decidedAt: now.toISOString(),
    });
    if (result === 'decided') expired += 1;
  }
  return expired;
}
