import type { ApprovalRecord, Store } from '../../store/index.ts';
import type { PolicyDecisionRecord } from '../policies/decision-record.ts';
import { ToolError } from '../tools/tool-error.ts';
import type { PauseCollector } from './run-pause.ts';

/** What a call's approval lookup needs of the run. */
export interface GatedRun {
  id: string;
  agentId: string;
}

const sameRule = (approval: ApprovalRecord, decision: PolicyDecisionRecord) =>
  approval.rule.policy === decision.policy &&
  approval.rule.ruleIndex === decision.ruleIndex &&
  approval.toolName === decision.toolName;

/**
 * The approvals of one execution of a run (docs/architecture/approvals.md). An `approval_required`
 * decision passes when: this very call was approved (on an earlier execution: the run resumed),
 * an approval of this run with scope `run` or `window` covers the same rule and tool, or a window
 * grant of the agent does. A call denied (or whose approval expired) is refused with the reason,
 * for the model. Anything else pauses: the call waits in the collector and the run pauses after
 * its step.
 */
export class ApprovalGate {
  constructor(
    private readonly store: Store,
    private readonly run: GatedRun,
    /** This run's approvals as they were when the execution started (every one decided). */
    private readonly approvals: readonly ApprovalRecord[],
    private readonly pauses: PauseCollector,
  ) {}

  /** The arguments an approver replaced the model's with, for a call approved with edits. */
  editedArguments(toolCallId: string): { value: unknown } | undefined {
    const approval = this.latestOfCall(toolCallId);
    if (approval?.status !== 'approved' || !('editedArguments' in approval)) return undefined;
    return { value: approval.editedArguments };
  }

  /** Resolves when the call may go on; throws a refusal or a pause otherwise. */
  async check(decision: PolicyDecisionRecord, input: unknown): Promise<void> {
    const own = this.approvals.filter(
      (approval) => approval.toolCallId === decision.toolCallId && sameRule(approval, decision),
    );
    const latest = own.at(-1);
    if (latest?.status === 'approved') return;
    if (latest?.status === 'denied' || latest?.status === 'expired') {
      throw new ToolError(
        'approval-required',
        latest.status === 'denied'
          ? `a human denied this call of '${decision.toolName}'${latest.reason === null ? '' : `: ${latest.reason}`}`
          : `the approval of this call of '${decision.toolName}' expired before anyone decided; the call was not made`,
        { resource: decision.resource, policy: decision.policy, ruleIndex: decision.ruleIndex },
      );
    }
    const coveredInRun = this.approvals.some(
      (approval) =>
        approval.status === 'approved' &&
        (approval.scope === 'run' || approval.scope === 'window') &&
        sameRule(approval, decision),
    );
    if (coveredInRun) return;
    const granted = await this.store.approvals.hasGrant(
      this.run.agentId,
      { policy: decision.policy, ruleIndex: decision.ruleIndex, toolName: decision.toolName },
      new Date().toISOString(),
    );
    if (granted) return;
    throw this.pauses.pause({
      kind: 'approval',
      toolCallId: decision.toolCallId,
      toolName: decision.toolName,
      arguments: input,
      rule: {
        policy: decision.policy,
        ruleIndex: decision.ruleIndex,
        resource: decision.resource,
        method: decision.method,
      },
    });
  }

  private latestOfCall(toolCallId: string): ApprovalRecord | undefined {
    return this.approvals.filter((approval) => approval.toolCallId === toolCallId).at(-1);
  }
}
