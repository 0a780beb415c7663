import { routes } from '@runyard/protocol';
import { BadRequestError } from '@runyard/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  createAgent,
  eventsOf,
  instructions,
  journalOf,
  messagesOf,
  requestsOf,
  runAgent,
  streamedText,
  typesOf,
  useModelMock,
} from '../support/model-path.ts';
import { useTestServer } from '../support/use-server.ts';

// An `openai` provider with `api: "responses"` speaks the Responses API (POST /v1/responses).

const mock = useModelMock();

describe.each(backendNames)('the OpenAI Responses API on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  beforeAll(async () => {
    if (!skip) {
      await connectProviders(server(), mock().url);
      await server().admin.providers.create({
        name: 'responses',
        kind: 'openai',
        baseUrl: `${mock().url}/v1`,
        apiKey: { secret: 'MOCK_KEY' },
        api: 'responses',
      });
    }
  });

  it.skipIf(skip)('runs a tool loop through /v1/responses and records its usage', async () => {
    const model = `gpt-4o-responses-${backend}`;
    mock().on(
      { model, predicate: afterToolResult },
      { content: 'The echo tool said: ping.', usage: { input_tokens: 120, output_tokens: 8 } },
    );
    mock().on(
      { model, userMessage: 'Echo ping for me.' },
      {
        toolCalls: [{ id: 'call_echo_responses', name: 'echo', arguments: { text: 'ping' } }],
        usage: { input_tokens: 100, output_tokens: 12 },
      },
    );
    const slug = await createAgent(server(), { model: `responses/${model}` });

    const run = await runAgent(server(), slug, { input: 'Echo ping for me.' });
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { text: 'The echo tool said: ping.' },
      error: null,
      iterations: 2,
      usage: { inputTokens: 220, outputTokens: 20, totalTokens: 240 },
      // gpt-4o's built-in price: 2.5 and 10 USD per million input and output tokens.
      costUsd: (220 * 2.5 + 20 * 10) / 1_000_000,
      costIncomplete: false,
    });

    const journal = journalOf(mock(), model);
    expect(journal.map((entry) => [entry.method, entry.path, entry.response.status])).toEqual([
      ['POST', '/v1/responses', 200],
      ['POST', '/v1/responses', 200],
    ]);
    // aimock's journal holds Responses requests translated to the chat shape.
    const [first, second] = requestsOf(mock(), model);
    expect(first).toMatchObject({ model, stream: true });
    expect(first?.tools?.map((tool) => tool.function.name)).toEqual(['echo']);
    expect(first?.messages).toEqual([
      { role: 'system', content: instructions },
      { role: 'user', content: 'Echo ping for me.' },
    ]);
    expect(second?.messages).toEqual([
      { role: 'system', content: instructions },
      { role: 'user', content: 'Echo ping for me.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_echo_responses',
            type: 'function',
            function: { name: 'echo', arguments: '{"text":"ping"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_echo_responses', content: 'ping' },
    ]);

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
    expect(streamedText(events, 2)).toBe('The echo tool said: ping.');
    expect(
      events.flatMap((event) => (event.type === 'step-end' ? [[event.finishReason, event.usage]] : [])),
    ).toEqual([
      ['tool-calls', { inputTokens: 100, outputTokens: 12, totalTokens: 112 }],
      ['stop', { inputTokens: 120, outputTokens: 8, totalTokens: 128 }],
    ]);

    // The next run of the thread sends the history through the Responses API too.
    mock().on({ model, userMessage: 'And again?' }, { content: 'Again: ping.' });
    const next = await runAgent(server(), slug, { input: 'And again?', threadId: run.threadId ?? '' });
    expect(next.output).toEqual({ text: 'Again: ping.' });
    const third = requestsOf(mock(), model)[2];
    expect(journalOf(mock(), model)[2]?.path).toBe('/v1/responses');
    expect(third?.messages.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
    ]);
    const messages = await messagesOf(server(), run.threadId);
    expect(messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
      'assistant',
    ]);
  });

  it.skipIf(skip)('switches between chat completions and the Responses API per provider', async () => {
    const { admin } = server();
    const model = `gpt-switch-${backend}`;
    mock().on({ model }, { content: 'Switched.' });
    await admin.providers.create({
      name: `switching-${backend}`,
      kind: 'openai',
      baseUrl: `${mock().url}/v1`,
      apiKey: { secret: 'MOCK_KEY' },
    });
    const provider = await admin.providers.get(`switching-${backend}`);
    expect(provider.api).toBe('chat');
    const slug = await createAgent(server(), { model: `switching-${backend}/${model}` });

    await runAgent(server(), slug, { input: 'One.' });
    expect(await admin.providers.update(`switching-${backend}`, { api: 'responses' })).toMatchObject({
      api: 'responses',
    });
    await runAgent(server(), slug, { input: 'Two.' });
    expect((await admin.providers.update(`switching-${backend}`, { api: null })).api).toBe('chat');
    await runAgent(server(), slug, { input: 'Three.' });
    expect(journalOf(mock(), model).map((entry) => entry.path)).toEqual([
      '/v1/chat/completions',
      '/v1/responses',
      '/v1/chat/completions',
    ]);
  });

  it.skipIf(skip)('takes `api` only for kind openai', async () => {
    const { admin } = server();
    expect((await admin.providers.get('anthropic')).api).toBeNull();
    expect((await admin.providers.get('playground')).api).toBeNull();
    expect((await admin.providers.get('responses')).api).toBe('responses');

    const rejected = await admin.transport
      .call(routes.createProvider, {
        body: { name: 'claude-responses', kind: 'anthropic', api: 'responses' },
      })
      .catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(BadRequestError);
    expect(rejected).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      details: { issues: [{ path: 'api', message: 'is only for kind openai, not anthropic' }] },
    });
    await expect(
      admin.providers.create({
        name: 'compatible-chat',
        kind: 'openai-compatible',
        baseUrl: `${mock().url}/v1`,
        api: 'chat',
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(admin.providers.update('anthropic', { api: 'chat' })).rejects.toBeInstanceOf(
      BadRequestError,
    );
    await expect(admin.providers.get('claude-responses')).rejects.toThrow();

    // Not a known API: rejected by the schema.
    const response = await fetch(`${server().url}/v1/providers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server().adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'assistants', kind: 'openai', api: 'assistants' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });
});
