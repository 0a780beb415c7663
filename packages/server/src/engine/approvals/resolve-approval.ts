import type { RunEvent } from '@runyard/protocol';
import type { EventBus } from '../../queue/event-bus.ts';
import type { ApprovalDecision, ApprovalGrant, ApprovalRecord, Store } from '../../store/index.ts';

export type ResolveResult = 'decided' | 'already-decided';

/**
 * Decides one pending approval. In one transaction: the decision (a compare-and-set on `pending`:
 * of two deciders exactly one wins), a window grant if any, an `approval-decided` event in the
 * run's log, and, once the run has no pending approval left, the run back in the queue; a worker
 * then resumes it from its journal. Signals and events go out after the commit.
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
    const run = await transaction.runs.getById(approval.runId);
    if (run?.status !== 'requires_action') return { events: [], resumed: false };
    const event: RunEvent = {
      seq: (await transaction.runEvents.lastSeq(run.id)) + 1,
      at: decision.decidedAt,
      type: 'approval-decided',
      approvalId: approval.id,
      toolCallId: approval.toolCallId,
      status: decision.status,
      scope: decision.scope,
      reason: decision.reason,
    };
    await transaction.runEvents.append(run.id, [event]);
    const remaining = (await transaction.approvals.pendingIds(run.id)).filter((id) => id !== approval.id);
    let resumed = false;
    if (remaining.length === 0) resumed = await transaction.runs.resume(run.id, decision.decidedAt);
    else {
      await transaction.runs.setRequiredAction(
        run.id,
        { type: 'approval', approvals: remaining },
        decision.decidedAt,
      );
    }
    return { events: [event], resumed };
  });
  if (outcome === undefined) return 'already-decided';
  if (outcome.events.length > 0) bus.publish(approval.runId, outcome.events);
  if (outcome.resumed) bus.signal({ kind: 'runs-available' });
  return 'decided';
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
