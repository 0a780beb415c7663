import type { FastifyReply } from 'fastify';
import { sendServerSentEvents } from '../../sse.ts';
import type { RunEvent } from '@runyard/protocol';
import { runtoolsRunError, runtoolsStatus, runtoolsUsage } from './run-view.ts';

/** One Server-Sent Event in runtools' vocabulary. */
export interface Frame {
  event: string;
  /** The seq of the run event it renders: a client can match frames to `GET /v1/runs/{id}/events`. */
  id: number;
  data: Record<string, unknown>;
}

/**
 * Renders the run event log as runtools stream frames. Names follow runtools' thread frames:
 * run_started, assistant_message_delta, assistant_message, tool_call, tool_result, error,
 * run_completed (whatever the outcome; `status` says which). A step retried after a failed model
 * call starts with `assistant_message_reset`: drop the text deltas of that step seen so far.
 * The history summary step (step 0) is internal and not shown.
 */
export class FrameRenderer {
  private iterations = 0;
  private threadId: string | null = null;
  private runId = '';

  render(event: RunEvent): Frame[] {
    const frame = (name: string, data: Record<string, unknown>): Frame[] => [
      { event: name, id: event.seq, data },
    ];
    switch (event.type) {
      case 'run-start':
        this.runId = event.runId;
        this.threadId = event.threadId;
        return frame('run_started', {
          runId: event.runId,
          threadId: event.threadId,
          agentId: event.agentId,
          agentVersion: event.agentVersion,
          model: event.model,
        });
      case 'step-start':
        if (event.kind === 'summary' || event.attempt <= 1) return [];
        return frame('assistant_message_reset', { step: event.step, attempt: event.attempt });
      case 'text-delta':
        return frame('assistant_message_delta', { step: event.step, delta: event.delta });
      case 'tool-call':
        return frame('tool_call', {
          step: event.step,
          toolCallId: event.toolCallId,
          tool: event.toolName,
          input: event.input,
        });
      case 'tool-result':
        return frame('tool_result', {
          step: event.step,
          toolCallId: event.toolCallId,
          tool: event.toolName,
          output: event.output,
          isError: event.isError,
        });
      case 'step-end': {
        if (event.kind === 'summary') return [];
        this.iterations += 1;
        const text = event.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
        return text === '' ? [] : frame('assistant_message', { step: event.step, content: text });
      }
      case 'approval-requested':
        return frame('approval_required', {
          toolCallId: event.toolCallId,
          tool: event.toolName,
          input: event.input,
        });
      case 'error':
        return frame('error', {
          code: event.code.toLowerCase(),
          message: event.message,
          retrying: event.retrying,
        });
      case 'run-end':
        return frame('run_completed', {
          runId: this.runId,
          threadId: this.threadId,
          status: runtoolsStatus(event.status),
          result: event.output?.text ?? null,
          error: runtoolsRunError(event.error),
          usage: runtoolsUsage(event.usage),
          iterations: this.iterations,
        });
      // Events runtools has no frame for are left out.
      case 'usage':
      case 'approval-decided':
      case 'tool-outputs-requested':
      case 'policy-decision':
      case 'tool-progress':
      case 'child-run-start':
      case 'child-event':
      case 'child-run-end':
        return [];
    }
  }
}

/**
 * Writes a run's events as runtools frames (`event:`, `id:`, `data:` JSON) with the run's headers,
 * ending after `run_completed`. The run goes on if the client goes away.
 */
export function sendRuntoolsStream(
  reply: FastifyReply,
  events: AsyncIterable<RunEvent>,
  signal: AbortSignal,
  headers: Record<string, string>,
): Promise<FastifyReply> {
  return sendServerSentEvents(reply, framesOf(events), signal, {
    headers,
    failure: () => ({
      event: 'error',
      data: { code: 'internal_error', message: 'the event stream failed', retrying: false },
    }),
  });
}

async function* framesOf(events: AsyncIterable<RunEvent>): AsyncGenerator<Frame> {
  const renderer = new FrameRenderer();
  for await (const event of events) yield* renderer.render(event);
}
