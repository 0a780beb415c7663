/** Why a tool produced no result. */
export type ToolFailureReason =
  | 'timeout'
  | 'unreachable'
  | 'too-many-redirects'
  | 'credentials'
  | 'invalid-input'
  | 'error'
  /** An egress policy denied the call or one of its requests, or the SSRF guard refused an address. */
  | 'policy-denied'
  /** An approval_required rule matched: the call was not made (see engine/policies/approval.ts). */
  | 'approval-required';

/** What refused a call (reasons `policy-denied` and `approval-required`): the deciding rule, if any. */
export interface PolicyRefusal {
  /** `tool:<name>`, or the refused request's URL without its query. */
  resource: string;
  /** null when no rule matched (the default) or the SSRF guard refused the address. */
  policy: string | null;
  ruleIndex: number | null;
}

/**
 * A tool that could not produce a result. Its message is what the model (or the caller of
 * `POST /v1/tools/{name}/invoke`) reads, so it never holds a credential: the thrower scrubs it.
 */
export class ToolError extends Error {
  constructor(
    readonly reason: ToolFailureReason,
    message: string,
    /** Set by the policy engine on its refusals; a direct invoke answers it as 403 POLICY_DENIED. */
    readonly refusal?: PolicyRefusal,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}
