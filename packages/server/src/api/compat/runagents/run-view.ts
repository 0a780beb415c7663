import type { Run, RunEvent, RunStatus } from '@runyard/protocol';

export const runagentsStatuses = [
  'RUNNING',
  'PAUSED_APPROVAL',
  'PAUSED_CONSENT',
  'COMPLETED',
  'FAILED',
] as const;
export type RunagentsStatus = (typeof runagentsStatuses)[number];

/**
 * Runyard's run statuses in runagents' words. A paused run (`requires_action`) waits for an
 * approval (PAUSED_APPROVAL) or for its caller to act (PAUSED_CONSENT: the outputs of client tools,
 * which only the caller's side can give, like runagents' consent).
 */
export function runagentsStatus(run: Pick<Run, 'status' | 'requiredAction'>): RunagentsStatus {
  switch (run.status) {
    case 'queued':
    case 'running':
      return 'RUNNING';
    case 'requires_action':
      return run.requiredAction?.type === 'tool_outputs' ? 'PAUSED_CONSENT' : 'PAUSED_APPROVAL';
    case 'succeeded':
      return 'COMPLETED';
    case 'failed':
    case 'cancelled':
      return 'FAILED';
  }
}

/** The Runyard statuses one runagents status stands for (a list filter; `runagentsStatus` decides). */
export function runyardStatuses(status: RunagentsStatus): RunStatus[] {
  switch (status) {
    case 'RUNNING':
      return ['queued', 'running'];
    case 'PAUSED_APPROVAL':
    case 'PAUSED_CONSENT':
      return ['requires_action'];
    case 'COMPLETED':
      return ['succeeded'];
    case 'FAILED':
      return ['failed', 'cancelled'];
  }
}

export function toRunagentsRun(run: Run, agentName: string, namespace: string) {
  return {
    id: run.id,
    agent_id: agentName,
    namespace,
    status: runagentsStatus(run),
    output: run.output?.text ?? null,
    error: run.error,
    usage: { input_tokens: run.usage.inputTokens, output_tokens: run.usage.outputTokens },
    iterations: run.iterations,
    created_at: run.createdAt,
    started_at: run.startedAt,
    completed_at: run.finishedAt,
  };
}

export interface RunagentsEvent {
  /** 1, 2, 3 … in log order: the rendering of an append-only log is stable, so numbers never move. */
  sequence: number;
  type:
    | 'TOOL_CALL'
    | 'LLM_CALL'
    | 'APPROVAL_REQUIRED'
    | 'APPROVAL_GRANTED'
    | 'APPROVAL_REJECTED'
    | 'ERROR'
    | 'COMPLETED';
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * The run event log as runagents' ordered events: a tool call (with its result once there is
 * one), a model call per finished step, an approval request, an error, the end. A failed run ends
 * with one ERROR: the final `error` event, or the run's error when no final event said it.
 */
export function toRunagentsEvents(events: readonly RunEvent[]): RunagentsEvent[] {
  const results = new Map<string, Extract<RunEvent, { type: 'tool-result' }>>();
  for (const event of events) if (event.type === 'tool-result') results.set(event.toolCallId, event);
  const rendered: Omit<RunagentsEvent, 'sequence'>[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'tool-call': {
        const result = results.get(event.toolCallId);
        rendered.push({
          type: 'TOOL_CALL',
          timestamp: event.at,
          data: {
            tool: event.toolName,
            tool_call_id: event.toolCallId,
            input: event.input,
            output: result?.output ?? null,
            is_error: result?.isError ?? null,
          },
        });
        break;
      }
      case 'step-end':
        rendered.push({
          type: 'LLM_CALL',
          timestamp: event.at,
          data: {
            step: event.step,
            model: event.model,
            finish_reason: event.finishReason,
            input_tokens: event.usage.inputTokens,
            output_tokens: event.usage.outputTokens,
          },
        });
        break;
      case 'approval-requested':
        rendered.push({
          type: 'APPROVAL_REQUIRED',
          timestamp: event.at,
          data: {
            tool: event.toolName,
            tool_call_id: event.toolCallId,
            approval_id: event.approvalId,
            input: event.input,
            policy: event.rule.policy,
          },
        });
        break;
      case 'approval-decided':
        rendered.push({
          type: event.status === 'approved' ? 'APPROVAL_GRANTED' : 'APPROVAL_REJECTED',
          timestamp: event.at,
          data: {
            approval_id: event.approvalId,
            tool_call_id: event.toolCallId,
            scope: event.scope,
            reason: event.reason,
            expired: event.status === 'expired',
          },
        });
        break;
      case 'error':
        rendered.push({
          type: 'ERROR',
          timestamp: event.at,
          data: { code: event.code, message: event.message, retrying: event.retrying },
        });
        break;
      case 'run-end': {
        if (event.status === 'succeeded') {
          rendered.push({
            type: 'COMPLETED',
            timestamp: event.at,
            data: { output: event.output?.text ?? null },
          });
          break;
        }
        const last = rendered.at(-1);
        const alreadySaid = last?.type === 'ERROR' && last.data.retrying === false;
        if (!alreadySaid && event.error !== null) {
          rendered.push({
            type: 'ERROR',
            timestamp: event.at,
            data: { code: event.error.code, message: event.error.message, retrying: false },
          });
        }
        break;
      }
      case 'run-start':
      case 'step-start':
      case 'text-delta':
      case 'tool-result':
      case 'tool-progress':
      case 'usage':
      case 'policy-decision':
      case 'child-run-start':
      case 'child-event':
      case 'child-run-end':
      case 'tool-outputs-requested':
        // Folded into TOOL_CALL (results) or not part of runagents' event vocabulary.
        break;
    }
  }
  return rendered.map((event, index) => ({ sequence: index + 1, ...event }));
}
