import { ToolError } from '../tools/tool-error.ts';
import type { PolicyDecisionRecord } from './decision-record.ts';

/**
 * THE approval hook: the one place an `approval_required` decision (of a whole tool call, or of
 * one outbound request) is acted on. It has been evented and audited already. Today the call is not
 * made: the model gets an error result saying approval is required. The human-approval flow
 * replaces this function (pause the run in `requires_action`, emit `approval-requested`, resume on
 * approve/deny); returning normally means "approved, go on" to both callers.
 */
export function awaitApproval(decision: PolicyDecisionRecord): Promise<void> {
  return Promise.reject(
    new ToolError(
      'approval-required',
      `approval is required for ${decision.method === '*' ? '' : `${decision.method} `}${decision.resource} ` +
        `(${decision.reason}); the call was not made`,
      { resource: decision.resource, policy: decision.policy, ruleIndex: decision.ruleIndex },
    ),
  );
}
