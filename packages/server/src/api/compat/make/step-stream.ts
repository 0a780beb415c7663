import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { sendServerSentEvents } from '../../sse.ts';
import type { InputMessage, MessagePart, RunEvent } from '@runyard/protocol';
import { makeRunError, type MakeErrorBody } from '../../../shared/make-wire-format.ts';
import { idToUuid } from '../../../shared/id-uuid-codec.ts';
import { makeErrorBody } from './make-errors.ts';

/** One step of a Make agent run, as `run/stream` sends it in each `event: step`. */
export interface MakeStep {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  id: string;
  agentIterationId: string;
}

export type MakeStreamEvent =
  { event: 'step'; id: string; data: MakeStep } | { event: 'error'; id: string; data: MakeErrorBody };

/** What the event log does not repeat: the instructions the run used and its input messages. */
export interface StepContext {
  runId: string;
  instructions: string;
  input: readonly InputMessage[];
}

/**
 * A uuid derived from its inputs (SHA-256, formatted as RFC 9562 version 8): the same run and log
 * position give the same step id on every replay, so a client can de-duplicate.
 */
export function derivedUuid(...parts: (string | number)[]): string {
  const bytes = createHash('sha256').update(parts.join('/')).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
}

/** A tool step reads `echo({"text":"hi"}) returned: hi`, or `… failed: <error>`. */
export function toolStepContent(toolName: string, input: unknown, output: unknown, isError: boolean): string {
  return `${toolName}(${JSON.stringify(input ?? {})}) ${isError ? 'failed' : 'returned'}: ${asText(output)}`;
}

/**
 * What an assistant step says: the model's text, or, for a turn that only called tools, the calls
 * as `echo({"text":"hi"})`, one a line (their results follow as tool steps).
 */
export function assistantStepContent(content: readonly MessagePart[]): string {
  const text = content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
  if (text !== '') return text;
  return content
    .flatMap((part) =>
      part.type === 'tool-call' ? [`${part.toolName}(${JSON.stringify(part.input ?? {})})`] : [],
    )
    .join('\n');
}

/**
 * Make's steps, rendered from the run event log: at `run-start` the system step (the instructions
 * as the model got them) and one step per input message; at each `step-end` of the agent's own
 * steps an assistant step (every model turn, a tool-calling one included); at each `tool-result` a
 * tool step. A summary step (trimmed history) is not the agent speaking and is left out. A run that
 * ends without success ends with `event: error`.
 */
export async function* makeSteps(
  events: AsyncIterable<RunEvent>,
  context: StepContext,
): AsyncGenerator<MakeStreamEvent, void, undefined> {
  const agentIterationId = idToUuid(context.runId);
  const step = (seq: number, index: number, role: MakeStep['role'], content: string): MakeStreamEvent => ({
    event: 'step',
    id: derivedUuid(context.runId, seq, index, 'event'),
    data: { role, content, id: derivedUuid(context.runId, seq, index, 'step'), agentIterationId },
  });
  const toolInputs = new Map<string, unknown>();
  for await (const event of events) {
    switch (event.type) {
      case 'run-start': {
        yield step(event.seq, 0, 'system', context.instructions);
        let index = 1;
        for (const message of context.input) yield step(event.seq, index++, message.role, message.content);
        break;
      }
      case 'tool-call':
        toolInputs.set(event.toolCallId, event.input);
        break;
      case 'step-end':
        if (event.kind !== 'summary')
          yield step(event.seq, 0, 'assistant', assistantStepContent(event.content));
        break;
      case 'tool-result':
        yield step(
          event.seq,
          0,
          'tool',
          toolStepContent(event.toolName, toolInputs.get(event.toolCallId), event.output, event.isError),
        );
        break;
      case 'run-end':
        if (event.status !== 'succeeded') {
          yield {
            event: 'error',
            id: derivedUuid(context.runId, event.seq, 0, 'event'),
            data: makeRunError({ status: event.status, error: event.error }),
          };
        }
        return;
      // Deltas, retries, usage, approvals, policy decisions, progress and child runs have no step
      // of their own in Make's stream.
      case 'step-start':
      case 'text-delta':
      case 'usage':
      case 'error':
      case 'approval-requested':
      case 'approval-decided':
      case 'tool-outputs-requested':
      case 'policy-decision':
      case 'tool-progress':
      case 'child-run-start':
      case 'child-event':
      case 'child-run-end':
        break;
    }
  }
}

/** Writes the steps as Server-Sent Events (`event`, `id`, `data` lines) and ends after the last. */
export function sendMakeSteps(
  reply: FastifyReply,
  steps: AsyncIterable<MakeStreamEvent>,
  signal: AbortSignal,
  headers: Record<string, string>,
): Promise<FastifyReply> {
  return sendServerSentEvents(reply, steps, signal, {
    headers,
    failure: (requestId) => ({
      event: 'error',
      id: derivedUuid(requestId, 'error'),
      data: makeErrorBody(500, `the stream failed; request id ${requestId} identifies it in the logs`),
    }),
  });
}
