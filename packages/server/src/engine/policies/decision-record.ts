import type { PolicyEffect } from '@runyard/protocol';

/** One decision as evented (`policy-decision`) and audited (`GET /v1/audit`). */
export interface PolicyDecisionRecord {
  toolCallId: string;
  toolName: string;
  /** `tool:<name>`, or the URL of one outbound request without its query (which may hold a credential). */
  resource: string;
  method: string;
  effect: PolicyEffect;
  policy: string | null;
  ruleIndex: number | null;
  reason: string;
}

/** Stores a decision (audit row, run event); awaited before the action it decides is taken. */
export type RecordDecision = (decision: PolicyDecisionRecord) => Promise<void>;
