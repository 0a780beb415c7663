import type { StoreTiming, Tool, ToolContext } from '../tools/tool.ts';
import { ToolError } from '../tools/tool-error.ts';
import { awaitApproval } from './approval.ts';
import type { PolicyDecisionRecord } from './decision-record.ts';
import { EgressGuard, systemLookup, type HostLookup } from './egress-guard.ts';
import { evaluatePolicies, type NamedPolicy } from './evaluate.ts';

/**
 * Stores one decision in the audit log; `context` tells the run (or none, for a direct invoke).
 * `now`: stored before the action is taken. `with-next-events`: a run may store it with its next
 * events, which hold the call's result at the latest: for a local tool, whose call a crash would
 * run again, audited again, before its result is journaled.
 */
export type AuditDecision = (
  decision: PolicyDecisionRecord,
  context: ToolContext,
  when: StoreTiming,
) => Promise<void>;

/**
 * The tool, under these policies: `tool:<name>` rules are decided before it runs (deny and
 * approval_required stop it there), and a network tool gets the guard that decides each of its
 * outbound requests. Every decision is evented through the context (a run's log) and audited, both
 * stored before the action it decides is taken (a local tool's allowed call: no later than its result).
 * A network tool's call that no tool rule matches is not a decision of its own: its requests are.
 */
export function enforcePolicies(
  tool: Tool,
  policies: readonly NamedPolicy[],
  audit: AuditDecision,
  lookup: HostLookup = systemLookup,
): Tool {
  return {
    ...tool,
    execute: async (input, context) => {
      // The event first: a run stores it in the audit row's transaction (storeWithEvents).
      const record = async (decision: PolicyDecisionRecord, when: StoreTiming = 'now') => {
        context.onPolicyDecision?.(decision);
        await audit(decision, context, when);
      };
      const network = tool.network === true;
      const decision = evaluatePolicies(policies, { kind: 'tool', toolName: tool.name, input, network });
      const toolRecord: PolicyDecisionRecord = {
        toolCallId: context.toolCallId,
        toolName: tool.name,
        resource: `tool:${tool.name}`,
        method: '*',
        effect: decision.effect,
        policy: decision.policy,
        ruleIndex: decision.ruleIndex,
        reason: decision.reason,
      };
      // A network tool's requests act outside; a local tool's call allowed here only runs in-process.
      const when = network || decision.effect !== 'allow' ? 'now' : 'with-next-events';
      if (!(decision.defaulted && network)) await record(toolRecord, when);
      if (decision.effect === 'deny') {
        throw new ToolError(
          'policy-denied',
          `the call of '${tool.name}' is denied by the egress policy: ${decision.reason}`,
          { resource: toolRecord.resource, policy: decision.policy, ruleIndex: decision.ruleIndex },
        );
      }
      const egress = new EgressGuard(
        policies,
        { toolName: tool.name, toolCallId: context.toolCallId, input },
        record,
        lookup,
        context.approvals,
      );
      if (decision.effect === 'approval_required') {
        // No one is asked to approve a call whose first request would be refused anyway.
        const planned = network ? tool.plannedRequest?.(input) : undefined;
        if (planned !== undefined) await egress.refuseIfUnsendable(planned.method, planned.url);
        await awaitApproval(toolRecord, input, context.approvals);
      }
      return tool.execute(input, { ...context, egress });
    },
  };
}
