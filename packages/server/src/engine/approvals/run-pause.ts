import type { ApprovalRule } from '@runyard/protocol';
import type { ApprovalRecord } from '../../store/index.ts';

/**
 * A tool call the run cannot finish by itself: it waits for a human decision, the caller's output,
 * or (`child`) an agent tool's child run that paused, for the child's pending approvals (those of
 * its own calls and of its descendants').
 */
export type PendingCall =
  | { kind: 'approval'; toolCallId: string; toolName: string; arguments: unknown; rule: ApprovalRule }
  | { kind: 'client'; toolCallId: string; toolName: string; input: unknown }
  | { kind: 'child'; toolCallId: string; runId: string; approvals: ApprovalRecord[] };

/**
 * Thrown by a tool call that must wait (engine/approvals/approval-gate.ts, client tools, child
 * runs). The call is also recorded in the run's `PauseCollector`: that record, not this error, is
 * what the tool call layer acts on, so a tool that wraps the errors of its requests cannot lose a
 * pause.
 */
export class RunPaused extends Error {
  constructor(readonly call: PendingCall) {
    super(`the tool call ${call.toolCallId} waits for ${call.kind === 'client' ? 'its output' : 'approval'}`);
    this.name = 'RunPaused';
  }
}

/** The calls of one execution of a run that wait; any at the end of a step pauses the run. */
export class PauseCollector {
  readonly calls: PendingCall[] = [];

  /**
   * @param clientCalls whether the run can wait for client tool outputs: a child run cannot (only
   * approvals travel up to its parent), so its client tool calls are error results.
   */
  constructor(readonly clientCalls = true) {}

  /** Records the call and returns the error to throw. */
  pause(call: PendingCall): RunPaused {
    if (!this.has(call.toolCallId)) this.calls.push(call);
    return new RunPaused(call);
  }

  has(toolCallId: string): boolean {
    return this.calls.some((call) => call.toolCallId === toolCallId);
  }
}
