import type { ApprovalGate } from '../approvals/approval-gate.ts';
import { ToolError } from '../tools/tool-error.ts';
import type { PolicyDecisionRecord } from './decision-record.ts';

/**
 * THE approval hook: the one place an `approval_required` decision (of a whole tool call, or of
 * one outbound request) is acted on. It has been evented and audited already. Returning normally
 * means "approved, go on" to both callers. Inside a run the gate decides: approved before (or by a
 * `run`/`window` scope) goes on, denied is refused with the reason, anything else pauses the run
 * (docs/architecture/approvals.md). Outside a run (a direct invoke) nobody can be asked: refused.
 */
export async function awaitApproval(
  decision: PolicyDecisionRecord,
  input: unknown,
  gate: ApprovalGate | undefined,
): Promise<void> {
  if (gate !== undefined) return gate.check(decision, input);
  throw new ToolError(
    'approval-required',
    `approval is required for ${decision.method === '*' ? '' : `${decision.method} `}${decision.resource} ` +
      `(${decision.reason}); the call was not made`,
    { resource: decision.resource, policy: decision.policy, ruleIndex: decision.ruleIndex },
  );
}
