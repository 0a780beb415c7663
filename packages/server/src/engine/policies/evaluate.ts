import type { PolicyEffect, PolicyRule } from '@runyard/protocol';
import { conditionHolds } from './conditions.ts';
import { stringGlob, urlGlob, urlResource } from './glob.ts';

export interface NamedPolicy {
  name: string;
  rules: readonly PolicyRule[];
}

/** What is decided: a whole tool call (`tool:<name>`), or one outbound request of a network tool. */
export type PolicyRequest =
  | { kind: 'tool'; toolName: string; input: unknown; network: boolean }
  | { kind: 'url'; url: URL; method: string; input: unknown };

export interface PolicyDecision {
  effect: PolicyEffect;
  /** The policy and rule that decided; null when no rule matched and the default applied. */
  policy: string | null;
  ruleIndex: number | null;
  /** No rule matched. */
  defaulted: boolean;
  /**
   * Some matching allow or approval_required rule names the request's host without wildcards: the
   * SSRF guard's exception for private space. An approval_required rule counts too, or a request a
   * human approved would still be refused.
   */
  literalHostNamed: boolean;
  reason: string;
}

const precedence: readonly PolicyEffect[] = ['deny', 'approval_required', 'allow'];

function ruleMatches(rule: PolicyRule, request: PolicyRequest): boolean {
  if (request.kind === 'tool') {
    if (!rule.resource.startsWith('tool:')) return false;
    if (!stringGlob(rule.resource.slice('tool:'.length)).test(request.toolName)) return false;
  } else {
    if (rule.resource.startsWith('tool:')) return false;
    if (!rule.operations.includes('*') && !rule.operations.includes(request.method as never)) return false;
    if (!urlGlob(rule.resource).regex.test(urlResource(request.url))) return false;
  }
  return (rule.conditions ?? []).every((condition) => conditionHolds(condition, request.input));
}

/**
 * The decision over every rule of every bound policy: deny wins, then approval_required, then
 * allow; the first matching rule of the winning effect (in binding order) is the one reported.
 * Nothing matching: an outbound request is denied; a whole tool call is allowed (a network tool's
 * requests are then each decided, and denied by default, on their own).
 */
export function evaluatePolicies(policies: readonly NamedPolicy[], request: PolicyRequest): PolicyDecision {
  const matches: { effect: PolicyEffect; policy: string; ruleIndex: number; rule: PolicyRule }[] = [];
  for (const policy of policies) {
    policy.rules.forEach((rule, ruleIndex) => {
      if (ruleMatches(rule, request))
        matches.push({ effect: rule.effect, policy: policy.name, ruleIndex, rule });
    });
  }
  const literalHostNamed =
    request.kind === 'url' &&
    matches.some(
      (match) => match.effect !== 'deny' && urlGlob(match.rule.resource).literalHost === request.url.host,
    );
  for (const effect of precedence) {
    const winner = matches.find((match) => match.effect === effect);
    if (winner !== undefined) {
      return {
        effect,
        policy: winner.policy,
        ruleIndex: winner.ruleIndex,
        defaulted: false,
        literalHostNamed,
        reason: `rule ${winner.ruleIndex} of policy '${winner.policy}' (${winner.rule.resource})`,
      };
    }
  }
  if (request.kind === 'url') {
    return {
      effect: 'deny',
      policy: null,
      ruleIndex: null,
      defaulted: true,
      literalHostNamed: false,
      reason: 'no rule allows this request (network access is denied by default)',
    };
  }
  return {
    effect: 'allow',
    policy: null,
    ruleIndex: null,
    defaulted: true,
    literalHostNamed: false,
    reason: request.network
      ? 'no tool rule matched; each request is decided on its own'
      : 'no rule matched; local tools are allowed by default',
  };
}
