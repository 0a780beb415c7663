import { describe, expect, it } from 'vitest';
import {
  estimateMessageTokens,
  planHistory,
  trimHistory,
  type LoopMessage,
  type ThreadMessage,
} from './history.ts';

const text = (role: 'user' | 'assistant', body: string): LoopMessage => ({
  role,
  content: [{ type: 'text', text: body }],
});
const toolCall = (id: string): LoopMessage => ({
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: id, toolName: 'echo', input: { text: id } }],
});
const toolResult = (id: string): LoopMessage => ({
  role: 'tool',
  content: [{ type: 'tool-result', toolCallId: id, toolName: 'echo', output: id, isError: false }],
});
const positioned = (messages: LoopMessage[]): ThreadMessage[] =>
  messages.map((message, index) => ({ ...message, position: index + 1 }));
/** About `tokens` estimated tokens of text. */
const sized = (tokens: number) => 'x'.repeat(tokens * 4);

describe('trimHistory', () => {
  it('drops whole turns, oldest first, and never a tool call without its result', () => {
    const messages = [text('user', sized(300)), toolCall('a'), toolResult('a'), text('assistant', 'done')];
    const { messages: kept, dropped } = trimHistory(messages, 256);
    expect(dropped).toBe(1);
    expect(kept).toEqual(messages.slice(1));
    const tight = trimHistory(messages, 10);
    expect(tight.messages).toEqual([messages[3]]);
    expect(tight.dropped).toBe(3);
  });
});

describe('planHistory', () => {
  const settings = { historyTokenBudget: 256, summarizeAfterTokens: 256 };
  const big = positioned([
    text('user', sized(300)),
    toolCall('a'),
    toolResult('a'),
    text('assistant', 'Echo said a.'),
  ]);

  it('only trims without summarizeAfterTokens or without a budget', () => {
    expect(planHistory(big, undefined, { historyTokenBudget: 256 })).toEqual({
      kept: big.slice(1).map(({ role, content }) => ({ role, content })),
      summary: undefined,
    });
    expect(planHistory(big, { text: 'ignored', throughPosition: 1 }, { summarizeAfterTokens: 256 })).toEqual({
      kept: big.map(({ role, content }) => ({ role, content })),
      summary: undefined,
    });
  });

  it('summarises the trimmed turns once they exceed summarizeAfterTokens', () => {
    const plan = planHistory(big, undefined, settings);
    expect(plan.kept).toEqual([toolCall('a'), toolResult('a'), text('assistant', 'Echo said a.')]);
    expect(plan.summary).toEqual({ previous: null, turns: [text('user', sized(300))], throughPosition: 1 });
  });

  it('leaves trimmed turns below summarizeAfterTokens unsummarised', () => {
    const plan = planHistory(big, undefined, { ...settings, summarizeAfterTokens: 400 });
    expect(plan.kept).toHaveLength(3);
    expect(plan.summary).toBeUndefined();
  });

  it('replaces what a stored summary covers and reuses it while nothing more is trimmed', () => {
    const stored = { text: 'Earlier: a long message.', throughPosition: 1 };
    const plan = planHistory(big, stored, settings);
    expect(plan.kept).toEqual([toolCall('a'), toolResult('a'), text('assistant', 'Echo said a.')]);
    expect(plan.summary).toEqual({ previous: stored.text, turns: [], throughPosition: 1 });
  });

  it('extends a stored summary with every turn trimmed since, tool calls with their results', () => {
    const history = positioned([
      ...big,
      text('user', sized(250)),
      text('assistant', 'ok'),
      text('user', sized(200)),
      text('assistant', 'ok again'),
    ]);
    const stored = { text: 'Earlier: a long message.', throughPosition: 1 };
    const plan = planHistory(history, stored, settings);
    expect(plan.summary?.previous).toBe(stored.text);
    expect(plan.summary?.turns).toEqual(history.slice(1, 5).map(({ role, content }) => ({ role, content })));
    expect(plan.summary?.throughPosition).toBe(5);
    expect(plan.kept).toEqual([
      text('assistant', 'ok'),
      text('user', sized(200)),
      text('assistant', 'ok again'),
    ]);
    expect(estimateMessageTokens(plan.kept)).toBeLessThanOrEqual(256);
  });

  it('keeps the stored summary when fewer tokens than summarizeAfterTokens were trimmed since', () => {
    const history = positioned([...big, text('user', sized(230))]);
    const stored = { text: 'Earlier: a long message.', throughPosition: 1 };
    const plan = planHistory(history, stored, settings);
    // The tool call and its result leave together; too few tokens to summarise again.
    expect(plan.kept).toEqual([text('assistant', 'Echo said a.'), text('user', sized(230))]);
    expect(plan.summary).toEqual({ previous: stored.text, turns: [], throughPosition: 1 });
  });
});
