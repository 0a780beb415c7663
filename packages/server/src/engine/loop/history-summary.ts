import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { AgentSettings, MessagePart, RunEvent, Usage } from '@runyard/protocol';
import type { RunRecord, Store } from '../../store/index.ts';
import { EngineError } from '../engine-error.ts';
import { fromInput, planHistory, type LoopMessage, type StoredSummary, type SummaryPlan } from './history.ts';
import { callModel, type ModelCandidate, type ModelStepResult } from '../models/call-model.ts';
import type { RunLog } from '../runs/run-log.ts';
import type { LoopState } from './stop-conditions.ts';
import { addToTotals } from './usage-totals.ts';

/** The summary is not a step of the agent: its events carry step 0, before the agent's step 1. */
export const summaryStep = 0;
/** Summaries stay short: they sit in every later prompt of the thread. */
export const summaryMaxOutputTokens = 1024;
const summaryMaxRetries = 3;
const summaryCallTimeoutMs = 120_000;

export const summaryInstruction =
  'You condense conversations. Summarise the conversation you are given for the assistant who will ' +
  'continue it: keep facts, names, numbers, decisions, tool results and open questions; leave out ' +
  'small talk. When a summary so far is given, extend it with the new messages. Answer with the ' +
  'summary only, in plain text, at most 300 words.';

/** What the first prompt message says before the summary. */
export const summaryPrefix = 'Summary of earlier conversation:';

export interface SummaryStepContext {
  plan: SummaryPlan;
  /** The summary call of an earlier attempt of this run, when its `step-end` is in the log. */
  journaled: JournaledSummary | undefined;
  /** Stores the summary for later runs of the thread; must be idempotent. */
  save: (summary: StoredSummary) => Promise<void>;
}

/** What the summary call uses of the loop's context: a `LoopContext` is one. */
export interface SummaryCallContext {
  candidates: ModelCandidate[];
  settings: AgentSettings;
  log: RunLog;
  signal: AbortSignal;
  costOf: (modelReference: string, usage: Usage) => { costUsd: number; known: boolean };
  onProgress: (state: LoopState) => Promise<void>;
}

export interface JournaledSummary {
  model: string;
  usage: Usage;
  text: string;
}

/** The summary call an earlier attempt of this run finished, if any. */
export function readJournaledSummary(events: readonly RunEvent[]): JournaledSummary | undefined {
  const end = events.findLast((event) => event.type === 'step-end' && event.kind === 'summary');
  if (end?.type !== 'step-end') return undefined;
  return { model: end.model, usage: end.usage, text: textOf(end.content) };
}

/**
 * The summary message that goes before the kept history, or undefined for none. Makes the summary
 * call when the plan has new turns to fold in, unless an earlier attempt of the run made it: its
 * `step-end` is flushed to the log before the summary is stored, so a resumed run finds the call in
 * its journal (and counts its usage once) whether or not the store was reached.
 *
 * A failed call (after retries and fallback models) does not fail the run: it goes on with the
 * summary it had, and the error is logged with `retrying: true`. An abort still ends the run.
 */
export async function summarizeHistory(
  context: SummaryCallContext,
  summary: SummaryStepContext,
  state: LoopState,
): Promise<LoopMessage | undefined> {
  const { plan, journaled } = summary;
  const previous = plan.previous === null ? undefined : summaryMessage(plan.previous);
  if (journaled !== undefined) {
    addToTotals(state, journaled.usage, context.costOf(journaled.model, journaled.usage));
    if (plan.turns.length === 0 || journaled.text === '') return previous;
    await summary.save({ text: journaled.text, throughPosition: plan.throughPosition });
    return summaryMessage(journaled.text);
  }
  if (plan.turns.length === 0) return previous;

  let result: ModelStepResult;
  try {
    result = await callModel({
      candidates: context.candidates,
      options: {
        prompt: summaryPrompt(plan.previous, plan.turns),
        maxOutputTokens: summaryMaxOutputTokens,
      },
      signal: context.signal,
      callTimeoutMs: Math.min(summaryCallTimeoutMs, context.settings.timeoutMs ?? summaryCallTimeoutMs),
      maxRetries: summaryMaxRetries,
      onAttempt: (_reference, attempt) => {
        context.log.emit({ type: 'step-start', step: summaryStep, attempt, kind: 'summary' });
        return Promise.resolve();
      },
      // The summary is not part of the answer: its text is not streamed.
      onTextDelta: () => undefined,
      onRetry: (error) => {
        context.log.emit({ type: 'error', code: error.code, message: error.message, retrying: true });
        return Promise.resolve();
      },
    });
  } catch (error) {
    if (context.signal.aborted) throw error;
    const failure =
      error instanceof EngineError
        ? error
        : new EngineError('PROVIDER_ERROR', error instanceof Error ? error.message : String(error));
    context.log.emit({
      type: 'error',
      code: failure.code,
      message: `the summary of earlier history failed, the run goes on without it: ${failure.message}`,
      retrying: true,
    });
    return previous;
  }
  const text = result.text.trim();
  context.log.emit({
    type: 'step-end',
    step: summaryStep,
    kind: 'summary',
    finishReason: result.finishReason,
    model: result.reference,
    usage: result.usage,
    content: text === '' ? [] : [{ type: 'text', text }],
  });
  addToTotals(state, result.usage, context.costOf(result.reference, result.usage));
  context.log.emit({ type: 'usage', usage: state.usage, costUsd: state.costUsd });
  await context.onProgress(state);
  if (text === '') return previous;
  await summary.save({ text, throughPosition: plan.throughPosition });
  return summaryMessage(text);
}

/**
 * A system message right after the instructions: both OpenAI and Anthropic take system text there
 * (Anthropic only before the first user or assistant message), and the model does not read it as
 * something the user said.
 */
export function summaryMessage(text: string): LoopMessage {
  return { role: 'system', content: [{ type: 'text', text: `${summaryPrefix}\n${text}` }] };
}

/** The summary request: the instruction, then the summary so far and the new messages as a transcript. */
export function summaryPrompt(previous: string | null, turns: readonly LoopMessage[]): LanguageModelV3Prompt {
  const conversation = transcript(turns);
  const text =
    previous === null
      ? `Conversation:\n${conversation}`
      : `Summary so far:\n${previous}\n\nNew messages:\n${conversation}`;
  return [
    { role: 'system', content: summaryInstruction },
    { role: 'user', content: [{ type: 'text', text }] },
  ];
}

/**
 * Messages as plain text. Tool calls and results become lines too: the summary call offers no
 * tools, and some providers reject tool messages in a request without them.
 */
export function transcript(messages: readonly LoopMessage[]): string {
  const speaker = { system: 'System', user: 'User', assistant: 'Assistant', tool: 'Tool' } as const;
  const lines: string[] = [];
  for (const message of messages) {
    for (const part of message.content) lines.push(line(speaker[message.role], part));
  }
  return lines.join('\n');
}

function line(speaker: string, part: MessagePart): string {
  switch (part.type) {
    case 'text':
      return `${speaker}: ${part.text}`;
    case 'tool-call':
      return `${speaker} called the tool ${part.toolName} with ${JSON.stringify(part.input ?? null)}`;
    case 'tool-result': {
      const output = typeof part.output === 'string' ? part.output : JSON.stringify(part.output ?? null);
      return `Tool ${part.toolName} ${part.isError ? 'failed' : 'returned'}: ${output}`;
    }
  }
}

function textOf(content: readonly MessagePart[]): string {
  return content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
}

/**
 * The messages a run starts from (its thread's history as `planHistory` shapes it, then its input)
 * and the summary step to put before them, if any.
 */
export async function prepareConversation(
  store: Store,
  run: RunRecord,
  settings: AgentSettings,
  events: readonly RunEvent[],
): Promise<{ messages: LoopMessage[]; summary: SummaryStepContext | undefined }> {
  const input = fromInput(run.input);
  const threadId = run.threadId;
  if (threadId === null || run.options.stateless) return { messages: input, summary: undefined };
  // Positions run 1, 2, 3 … in thread order: messages are only appended, and only deleted with
  // their thread (and its summary).
  const history = (await store.threads.history(threadId)).map((message, index) => ({
    role: message.role,
    content: message.content,
    position: index + 1,
  }));
  const stored =
    settings.summarizeAfterTokens === undefined ? undefined : await store.threadSummaries.get(threadId);
  const plan = planHistory(history, stored, settings);
  const journaled = readJournaledSummary(events);
  if (plan.summary === undefined && journaled === undefined) {
    return { messages: [...plan.kept, ...input], summary: undefined };
  }
  return {
    messages: [...plan.kept, ...input],
    summary: {
      // With a journaled call but no plan (cannot happen while history and settings stay put), the
      // call's usage still counts.
      plan: plan.summary ?? { previous: null, turns: [], throughPosition: 0 },
      journaled,
      save: (summary) =>
        store.threadSummaries.save(run.workspaceId, threadId, {
          ...summary,
          runId: run.id,
          updatedAt: new Date().toISOString(),
        }),
    },
  };
}
