import type {
  JSONValue,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  LanguageModelV3ToolResultOutput,
} from '@ai-sdk/provider';
import type { AgentSettings, InputMessage, MessagePart, MessageRole } from '@runyard/protocol';
import { estimateTokens } from './token-estimate.ts';
import { withoutMediaData } from '../tools/mcp/mcp-result.ts';

/** A message as the loop keeps it: provider-neutral parts, converted per call. */
export interface LoopMessage {
  role: MessageRole;
  content: MessagePart[];
}

export function fromInput(input: readonly InputMessage[]): LoopMessage[] {
  return input.map((message) => ({ role: message.role, content: [{ type: 'text', text: message.content }] }));
}

/** The AI SDK prompt for a list of messages, tool calls and results in the provider-neutral form. */
export function toPrompt(instructions: string, messages: readonly LoopMessage[]): LanguageModelV3Prompt {
  const prompt: LanguageModelV3Prompt = [];
  if (instructions !== '') prompt.push({ role: 'system', content: instructions });
  for (const message of messages) {
    const converted = toModelMessage(message);
    if (converted !== undefined) prompt.push(converted);
  }
  return prompt;
}

function toModelMessage(message: LoopMessage): LanguageModelV3Message | undefined {
  const text = () =>
    message.content
      .filter((part) => part.type === 'text')
      .map((part) => part.text)
      .join('');
  switch (message.role) {
    case 'system':
      return { role: 'system', content: text() };
    case 'user':
      return { role: 'user', content: [{ type: 'text', text: text() }] };
    case 'assistant': {
      const content: Extract<LanguageModelV3Message, { role: 'assistant' }>['content'] = [];
      for (const part of message.content) {
        if (part.type === 'text' && part.text !== '') content.push({ type: 'text', text: part.text });
        if (part.type === 'tool-call') {
          content.push({
            type: 'tool-call',
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            input: part.input,
          });
        }
      }
      return content.length === 0 ? undefined : { role: 'assistant', content };
    }
    case 'tool':
      return {
        role: 'tool',
        content: message.content.flatMap((part) =>
          part.type === 'tool-result'
            ? [
                {
                  type: 'tool-result' as const,
                  toolCallId: part.toolCallId,
                  toolName: part.toolName,
                  // Binary tool content (MCP images) reaches the model as a placeholder: mcp-result.ts.
                  output: toolOutput(withoutMediaData(part.output), part.isError),
                },
              ]
            : [],
        ),
      };
  }
}

function toolOutput(output: unknown, isError: boolean): LanguageModelV3ToolResultOutput {
  if (typeof output === 'string') return { type: isError ? 'error-text' : 'text', value: output };
  const value = JSON.parse(JSON.stringify(output ?? null)) as JSONValue;
  return isError ? { type: 'error-json', value } : { type: 'json', value };
}

/**
 * Drops the oldest turns until the estimated size fits the budget. A turn is a user message, or an
 * assistant message together with the tool results that answer it, so a tool call never loses its
 * result. The newest turn is always kept. Returns how many messages were dropped.
 */
export function trimHistory(
  messages: readonly LoopMessage[],
  budgetTokens: number | undefined,
): { messages: LoopMessage[]; dropped: number } {
  if (budgetTokens === undefined) return { messages: [...messages], dropped: 0 };
  const turns: LoopMessage[][] = [];
  for (const message of messages) {
    const current = turns.at(-1);
    if (message.role === 'tool' && current !== undefined) current.push(message);
    else turns.push([message]);
  }
  const size = (turn: LoopMessage[]) => estimateMessageTokens(turn);
  let total = turns.reduce((sum, turn) => sum + size(turn), 0);
  let first = 0;
  while (total > budgetTokens && first < turns.length - 1) {
    total -= size(turns[first] ?? []);
    first += 1;
  }
  const kept = turns.slice(first).flat();
  return { messages: kept, dropped: messages.length - kept.length };
}

/** The estimated size of messages as trimming counts it. */
export function estimateMessageTokens(messages: readonly LoopMessage[]): number {
  return messages.reduce((sum, message) => sum + estimateTokens(JSON.stringify(message.content)), 0);
}

/** A message of a thread's history with its 1-based position in the thread. */
export interface ThreadMessage extends LoopMessage {
  position: number;
}

/** The summary a thread has of its oldest messages (store/repositories/thread-summaries.ts). */
export interface StoredSummary {
  text: string;
  /** Position of the last message it covers: it stands for every message up to this one. */
  throughPosition: number;
}

export interface SummaryPlan {
  /** The stored summary; null when the thread has none yet. */
  previous: string | null;
  /** Trimmed messages (whole turns) to fold into the summary now; empty: `previous` is used as is. */
  turns: LoopMessage[];
  /** The position of the last message the summary covers once `turns` are in it. */
  throughPosition: number;
}

export interface HistoryPlan {
  /** The history sent to the model (after the summary, if any): newest turns within the budget. */
  kept: LoopMessage[];
  summary: SummaryPlan | undefined;
}

/**
 * What of a thread's history a run sends (docs/architecture/agent-loop.md#history-and-summaries).
 * Without `summarizeAfterTokens` it is `trimHistory`. With it, the messages a stored summary covers
 * are replaced by the summary; the rest is trimmed to the budget, and once the messages trimmed
 * away but not yet summarised exceed `summarizeAfterTokens`, they are all folded into the summary.
 * Below that they are left out until more follow: one summary call per that many trimmed tokens,
 * not one per run. Trimming cuts between turns only, so a summary never splits a tool call from its
 * result either.
 */
export function planHistory(
  history: readonly ThreadMessage[],
  stored: StoredSummary | undefined,
  settings: Pick<AgentSettings, 'historyTokenBudget' | 'summarizeAfterTokens'>,
): HistoryPlan {
  const { historyTokenBudget: budget, summarizeAfterTokens: threshold } = settings;
  if (budget === undefined || threshold === undefined) {
    return { kept: trimHistory(history, budget).messages.map(withoutPosition), summary: undefined };
  }
  const covered = stored?.throughPosition ?? 0;
  const candidates = history.filter((message) => message.position > covered);
  const { messages, dropped } = trimHistory(candidates, budget);
  const kept = messages.map(withoutPosition);
  const trimmed = candidates.slice(0, dropped);
  const last = trimmed.at(-1);
  if (last !== undefined && estimateMessageTokens(trimmed) > threshold) {
    return {
      kept,
      summary: {
        previous: stored?.text ?? null,
        turns: trimmed.map(withoutPosition),
        throughPosition: last.position,
      },
    };
  }
  const summary = stored && { previous: stored.text, turns: [], throughPosition: stored.throughPosition };
  return { kept, summary };
}

function withoutPosition(message: LoopMessage): LoopMessage {
  return { role: message.role, content: message.content };
}
