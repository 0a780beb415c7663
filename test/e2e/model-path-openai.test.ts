import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  conversationOf,
  createAgent,
  eventsOf,
  instructions,
  journalOf,
  messagesOf,
  requestsOf,
  runAgent,
  streamAgentRun,
  streamedText,
  typesOf,
  useModelMock,
} from '../support/model-path.ts';
import { useTestServer } from '../support/use-server.ts';

const mock = useModelMock();

/** The OpenAI tool definition Runyard sends for the built-in echo tool. */
const echoTool = {
  type: 'function',
  function: {
    name: 'echo',
    description: 'Returns the given text unchanged.',
    parameters: {
      type: 'object',
      properties: { text: { type: 'string', description: 'The text to return.' } },
      required: ['text'],
      additionalProperties: false,
    },
  },
};

describe.each(backendNames)('the OpenAI model path on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  beforeAll(async () => {
    if (!skip) await connectProviders(server(), mock().url);
  });
  /** A model name of the test's own, so its fixtures and journal entries are its own. */
  const modelName = (label: string) => `gpt-${label}-${backend}`;

  it.skipIf(skip)('answers without tools when the caller waits', async () => {
    const model = modelName('plain');
    const answer = 'The sky looks blue because air scatters short wavelengths more.';
    mock().on({ model }, { content: answer });
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const run = await runAgent(server(), slug, { input: 'Why is the sky blue?' });
    expect(run).toMatchObject({ status: 'succeeded', output: { text: answer }, error: null, iterations: 1 });
    expect(run.usage.inputTokens).toBeGreaterThan(0);
    expect(run.usage.outputTokens).toBeGreaterThan(0);
    expect(run.usage.totalTokens).toBe(run.usage.inputTokens + run.usage.outputTokens);

    const events = await eventsOf(server(), run.id);
    expect(typesOf(events)).toEqual([
      'run-start',
      'step-start',
      'text-delta…',
      'step-end',
      'usage',
      'run-end',
    ]);
    expect(streamedText(events, 1)).toBe(answer);
    // OpenAI's opening empty delta is not logged.
    expect(events.filter((event) => event.type === 'text-delta' && event.delta === '')).toEqual([]);
    expect(events.find((event) => event.type === 'step-end')).toMatchObject({
      step: 1,
      finishReason: 'stop',
      model: `openai/${model}`,
      usage: run.usage,
      content: [{ type: 'text', text: answer }],
    });

    const journal = journalOf(mock(), model);
    expect(journal.map((entry) => [entry.method, entry.path, entry.response.status])).toEqual([
      ['POST', '/v1/chat/completions', 200],
    ]);
    const [request] = requestsOf(mock(), model);
    expect(request).toMatchObject({ model, stream: true, tools: [echoTool] });
    expect(request?.messages).toEqual([
      { role: 'system', content: instructions },
      { role: 'user', content: 'Why is the sky blue?' },
    ]);

    const messages = await messagesOf(server(), run.threadId);
    expect(messages.map((message) => [message.role, message.content])).toEqual([
      ['user', [{ type: 'text', text: 'Why is the sky blue?' }]],
      ['assistant', [{ type: 'text', text: answer }]],
    ]);
  });

  it.skipIf(skip)('streams the run as Server-Sent Events', async () => {
    const model = modelName('stream');
    const answer = 'Streaming works: every delta arrives as its own event, in order.';
    mock().on({ model }, { content: answer }, { chunkSize: 7 });
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const { response, ids, events } = await streamAgentRun(server(), slug, { input: 'Stream, please.' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const runId = response.headers.get('x-run-id') ?? '';
    expect(runId).toMatch(/^run_/);
    expect(ids).toEqual(events.map((_, index) => index + 1));
    expect(events.map((event) => event.seq)).toEqual(ids);
    expect(typesOf(events)).toEqual([
      'run-start',
      'step-start',
      'text-delta…',
      'step-end',
      'usage',
      'run-end',
    ]);
    expect(events.filter((event) => event.type === 'text-delta').length).toBeGreaterThan(5);

    const deltas = events.flatMap((event) => (event.type === 'text-delta' ? [event.delta] : [])).join('');
    expect(deltas).toBe(answer);
    const end = events.at(-1);
    expect(end).toMatchObject({
      type: 'run-end',
      status: 'succeeded',
      output: { text: deltas },
      error: null,
    });
    const usage = events.find((event) => event.type === 'usage');
    expect(usage?.type === 'usage' && usage.usage.totalTokens).toBeGreaterThan(0);

    // What the stream showed is what the log keeps.
    expect(await eventsOf(server(), runId)).toEqual(events);
  });

  it.skipIf(skip)('runs a tool the model calls and sends the result back', async () => {
    const model = modelName('tool-loop');
    mock().on({ model, predicate: afterToolResult }, { content: 'The echo tool said: ping.' });
    mock().on({ model }, { toolCalls: [{ id: 'call_echo_1', name: 'echo', arguments: { text: 'ping' } }] });
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const run = await runAgent(server(), slug, { input: 'Echo ping for me.' });
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { text: 'The echo tool said: ping.' },
      error: null,
      iterations: 2,
    });
    expect(run.usage.inputTokens).toBeGreaterThan(0);
    expect(run.usage.outputTokens).toBeGreaterThan(0);

    const events = await eventsOf(server(), run.id);
    expect(typesOf(events)).toEqual([
      'run-start',
      'step-start',
      'tool-call',
      'step-end',
      'usage',
      'policy-decision',
      'tool-result',
      'step-start',
      'text-delta…',
      'step-end',
      'usage',
      'run-end',
    ]);
    // A local built-in with no policy bound is allowed by default, and the decision is recorded.
    expect(events.find((event) => event.type === 'policy-decision')).toMatchObject({
      toolCallId: 'call_echo_1',
      toolName: 'echo',
      resource: 'tool:echo',
      effect: 'allow',
      policy: null,
    });
    expect(events.find((event) => event.type === 'tool-call')).toMatchObject({
      step: 1,
      toolCallId: 'call_echo_1',
      toolName: 'echo',
      input: { text: 'ping' },
    });
    expect(events.find((event) => event.type === 'step-end')).toMatchObject({
      step: 1,
      finishReason: 'tool-calls',
    });
    expect(events.find((event) => event.type === 'tool-result')).toMatchObject({
      step: 1,
      toolCallId: 'call_echo_1',
      toolName: 'echo',
      output: 'ping',
      isError: false,
    });
    // The usage event carries the running total; the last one is the run's.
    expect(events.filter((event) => event.type === 'usage').at(-1)).toMatchObject({ usage: run.usage });

    const requests = requestsOf(mock(), model);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.messages).toEqual([
      { role: 'system', content: instructions },
      { role: 'user', content: 'Echo ping for me.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_echo_1', type: 'function', function: { name: 'echo', arguments: '{"text":"ping"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_echo_1', content: 'ping' },
    ]);
    expect(requests[1]?.tools).toEqual([echoTool]);

    const messages = await messagesOf(server(), run.threadId);
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(messages[1]?.content).toEqual([
      { type: 'tool-call', toolCallId: 'call_echo_1', toolName: 'echo', input: { text: 'ping' } },
    ]);
    expect(messages[2]?.content).toEqual([
      { type: 'tool-result', toolCallId: 'call_echo_1', toolName: 'echo', output: 'ping', isError: false },
    ]);
    expect(messages.every((message) => message.runId === run.id)).toBe(true);
  });

  it.skipIf(skip)('runs parallel tool calls and sends both results back', async () => {
    const model = modelName('parallel');
    mock().on({ model, predicate: afterToolResult }, { content: 'Both echoes came back.' });
    mock().on(
      { model },
      {
        toolCalls: [
          { id: 'call_left', name: 'echo', arguments: { text: 'left' } },
          { id: 'call_right', name: 'echo', arguments: { text: 'right' } },
        ],
      },
    );
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const run = await runAgent(server(), slug, { input: 'Echo left and right at once.' });
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { text: 'Both echoes came back.' },
      iterations: 2,
    });

    const events = await eventsOf(server(), run.id);
    const calls = events.flatMap((event) =>
      event.type === 'tool-call' ? [[event.toolCallId, event.input]] : [],
    );
    expect(calls).toEqual([
      ['call_left', { text: 'left' }],
      ['call_right', { text: 'right' }],
    ]);
    const results = events.flatMap((event) =>
      event.type === 'tool-result' ? [[event.step, event.toolCallId, event.output, event.isError]] : [],
    );
    expect(results).toEqual(
      expect.arrayContaining([
        [1, 'call_left', 'left', false],
        [1, 'call_right', 'right', false],
      ]),
    );
    expect(results).toHaveLength(2);

    const second = requestsOf(mock(), model)[1];
    expect(conversationOf(second).slice(1)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_left', type: 'function', function: { name: 'echo', arguments: '{"text":"left"}' } },
          { id: 'call_right', type: 'function', function: { name: 'echo', arguments: '{"text":"right"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_left', content: 'left' },
      { role: 'tool', tool_call_id: 'call_right', content: 'right' },
    ]);

    const messages = await messagesOf(server(), run.threadId);
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(messages[2]?.content.map((part) => part.type === 'tool-result' && part.toolCallId)).toEqual([
      'call_left',
      'call_right',
    ]);
  });

  it.skipIf(skip)('remembers a thread: the next run sends the earlier turn to the model', async () => {
    const model = modelName('memory');
    mock().on({ model, predicate: afterToolResult }, { content: 'I echoed "apple".' });
    mock().on({ model, userMessage: 'What did you echo' }, { content: 'Earlier I echoed "apple".' });
    mock().on({ model }, { toolCalls: [{ id: 'call_apple', name: 'echo', arguments: { text: 'apple' } }] });
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const first = await runAgent(server(), slug, { input: 'Echo apple.' });
    expect(first).toMatchObject({ status: 'succeeded', output: { text: 'I echoed "apple".' } });
    const second = await runAgent(server(), slug, {
      input: 'What did you echo before?',
      threadId: first.threadId ?? '',
    });
    expect(second).toMatchObject({
      status: 'succeeded',
      threadId: first.threadId,
      output: { text: 'Earlier I echoed "apple".' },
      iterations: 1,
    });

    const requests = requestsOf(mock(), model);
    expect(requests).toHaveLength(3);
    expect(requests[2]?.messages).toEqual([
      { role: 'system', content: instructions },
      { role: 'user', content: 'Echo apple.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_apple', type: 'function', function: { name: 'echo', arguments: '{"text":"apple"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_apple', content: 'apple' },
      { role: 'assistant', content: 'I echoed "apple".' },
      { role: 'user', content: 'What did you echo before?' },
    ]);

    const messages = await messagesOf(server(), first.threadId);
    expect(messages.map((message) => [message.role, message.runId])).toEqual([
      ['user', first.id],
      ['assistant', first.id],
      ['tool', first.id],
      ['assistant', first.id],
      ['user', second.id],
      ['assistant', second.id],
    ]);
    expect(messages.at(-1)?.content).toEqual([{ type: 'text', text: 'Earlier I echoed "apple".' }]);
  });
});
