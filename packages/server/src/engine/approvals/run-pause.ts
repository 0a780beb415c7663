import type { ApprovalRule } from '@runyard/protocol';

/** A tool call the run cannot finish by itself: it waits for a human decision or the caller's output. */
export type PendingCall =
  | { kind: 'approval'; toolCallId: string; toolName: string; arguments: unknown; rule: ApprovalRule }
  | { kind: 'client'; toolCallId: string; toolName: string; input: unknown };

/**
 * Thrown by a tool call that must wait (engine/approvals/approval-gate.ts, client tools). The call
 * is also recorded in the run's `PauseCollector`: that record, not this error, is what the tool
 * call layer acts on, so a tool that wraps the errors of its requests cannot lose a pause.
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

  /** Records the call and returns the error to throw. */
  pause(call: PendingCall): RunPaused {
    if (!this.has(call.toolCallId)) this.calls.push(call);
    return new RunPaused(call);
  }

  has(toolCallId: string): boolean {
    return this.calls.some((call) => call.toolCallId === toolCallId);
  }
}
