import { describe, expect, it } from 'vitest';
import type { InputMessage, NewRunEvent, RunEvent } from '@runyard/protocol';
import { idToUuid } from '../../../shared/id-uuid-codec.ts';
import {
  assistantStepContent,
  derivedUuid,
  makeSteps,
  toolStepContent,
  type MakeStreamEvent,
} from './step-stream.ts';

const runId = 'run_01jz000000abcdefghjkmnpqrs';
const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
const strictUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function log(events: NewRunEvent[]): RunEvent[] {
  return events.map((event, index): RunEvent => ({
    ...event,
    seq: index + 1,
    at: '2025-01-01T00:00:00.000Z',
  }));
}

async function render(events: RunEvent[], input: InputMessage[] = [{ role: 'user', content: 'hi' }]) {
  async function* feed() {
    yield* events;
  }
  const rendered: MakeStreamEvent[] = [];
  for await (const item of makeSteps(feed(), { runId, instructions: 'Be kind.', input })) rendered.push(item);
  return rendered;
}

const start: NewRunEvent = {
  type: 'run-start',
  runId,
  agentId: 'agt_01jz000000abcdefghjkmnpqrs',
  agentVersion: 1,
  threadId: null,
  model: 'playground/playground',
};

describe('Make steps rendered from the run event log', () => {
  it('drops a failed attempt, the summary step and steps without text; renders tool results', async () => {
    const events = log([
      start,
      { type: 'step-start', step: 0, attempt: 1, kind: 'summary' },
      {
        type: 'step-end',
        step: 0,
        finishReason: 'stop',
        model: 'playground/playground',
        usage,
        content: [{ type: 'text', text: 'a summary of old turns' }],
        kind: 'summary',
      },
      { type: 'step-start', step: 1, attempt: 1 },
      { type: 'text-delta', step: 1, delta: 'half an ans' },
      { type: 'error', code: 'PROVIDER_ERROR', message: 'cut off', retrying: true },
      { type: 'step-start', step: 1, attempt: 2 },
      { type: 'text-delta', step: 1, delta: 'Let me look.' },
      { type: 'tool-call', step: 1, toolCallId: 'c1', toolName: 'lookup', input: { q: 'x' } },
      { type: 'tool-call', step: 1, toolCallId: 'c2', toolName: 'broken', input: {} },
      {
        type: 'step-end',
        step: 1,
        finishReason: 'tool-calls',
        model: 'playground/playground',
        usage,
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { q: 'x' } },
          { type: 'tool-call', toolCallId: 'c2', toolName: 'broken', input: {} },
        ],
      },
      { type: 'usage', usage, costUsd: 0 },
      {
        type: 'tool-result',
        step: 1,
        toolCallId: 'c1',
        toolName: 'lookup',
        output: { found: 2 },
        isError: false,
      },
      {
        type: 'tool-result',
        step: 1,
        toolCallId: 'c2',
        toolName: 'broken',
        output: 'it broke',
        isError: true,
      },
      { type: 'step-start', step: 2, attempt: 1 },
      {
        type: 'step-end',
        step: 2,
        finishReason: 'tool-calls',
        model: 'playground/playground',
        usage,
        content: [{ type: 'tool-call', toolCallId: 'c3', toolName: 'lookup', input: { q: 'y' } }],
      },
      {
        type: 'run-end',
        status: 'cancelled',
        output: null,
        error: { code: 'CANCELLED', message: 'the run was cancelled' },
        usage,
        costUsd: 0,
      },
    ]);
    const rendered = await render(events, [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'find x' },
    ]);
    expect(
      rendered.map((item) => (item.event === 'step' ? [item.data.role, item.data.content] : item.data)),
    ).toEqual([
      ['system', 'Be kind.'],
      ['user', 'hi'],
      ['assistant', 'hello'],
      ['user', 'find x'],
      ['assistant', 'Let me look.'],
      ['tool', 'lookup({"q":"x"}) returned: {"found":2}'],
      ['tool', 'broken({}) failed: it broke'],
      // A turn that only called tools is an assistant step too, naming its calls.
      ['assistant', 'lookup({"q":"y"})'],
      { message: 'Agent run cancelled', code: 'CANCELLED', detail: 'the run was cancelled' },
    ]);
    const iteration = idToUuid(runId);
    for (const item of rendered)
      if (item.event === 'step') expect(item.data.agentIterationId).toBe(iteration);
    const ids = rendered.flatMap((item) => [item.id, ...(item.event === 'step' ? [item.data.id] : [])]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [...ids, iteration]) expect(id).toMatch(strictUuid);
    // Replaying the log gives the same ids.
    expect(
      (
        await render(events, [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'find x' },
        ])
      ).map((item) => item.id),
    ).toEqual(rendered.map((item) => item.id));
  });

  it('ends after run-end without an error for a successful run', async () => {
    const events = log([
      start,
      {
        type: 'step-end',
        step: 1,
        finishReason: 'stop',
        model: 'playground/playground',
        usage,
        content: [{ type: 'text', text: 'You said: hi' }],
      },
      {
        type: 'run-end',
        status: 'succeeded',
        output: { text: 'You said: hi' },
        error: null,
        usage,
        costUsd: 0,
      },
      { type: 'usage', usage, costUsd: 0 },
    ]);
    const rendered = await render(events);
    expect(rendered.map((item) => item.event)).toEqual(['step', 'step', 'step']);
    expect(rendered.at(-1)).toMatchObject({ data: { role: 'assistant', content: 'You said: hi' } });
  });

  it('derives RFC 9562 version 8 uuids, the same for the same inputs', () => {
    const uuid = derivedUuid(runId, 3, 0, 'step');
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedUuid(runId, 3, 0, 'step')).toBe(uuid);
    expect(derivedUuid(runId, 3, 0, 'event')).not.toBe(uuid);
    expect(derivedUuid(runId, 4, 0, 'step')).not.toBe(uuid);
  });

  it('writes tool steps readably', () => {
    expect(toolStepContent('echo', { text: 'hi' }, 'hi', false)).toBe('echo({"text":"hi"}) returned: hi');
    expect(toolStepContent('clock', undefined, null, false)).toBe('clock({}) returned: null');
    expect(toolStepContent('fetch', { url: 'x' }, { error: 'timeout' }, true)).toBe(
      'fetch({"url":"x"}) failed: {"error":"timeout"}',
    );
  });

  it('writes assistant steps as the text, or the calls of a turn that wrote none', () => {
    expect(assistantStepContent([{ type: 'text', text: 'Hi.' }])).toBe('Hi.');
    expect(
      assistantStepContent([
        { type: 'tool-call', toolCallId: 'a', toolName: 'echo', input: { text: 'hi' } },
        { type: 'tool-call', toolCallId: 'b', toolName: 'clock', input: {} },
      ]),
    ).toBe('echo({"text":"hi"})\nclock({})');
    expect(assistantStepContent([])).toBe('');
  });
});
