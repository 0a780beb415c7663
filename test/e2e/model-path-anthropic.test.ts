import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  createAgent,
  eventsOf,
  instructions,
  journalOf,
  messagesOf,
  mockKey,
  requestsOf,
  runAgent,
  streamedText,
  typesOf,
  useModelMock,
} from '../support/model-path.ts';
import { useTestServer } from '../support/use-server.ts';

const mock = useModelMock();

interface Captured {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: { model?: string } & Record<string, unknown>;
}

/**
 * A loopback proxy in front of the mock that keeps every request as sent: aimock's journal holds
 * Anthropic requests normalized to the OpenAI shape, and redacts keys.
 */
const captured: Captured[] = [];
let proxy: http.Server | undefined;
beforeAll(async () => {
  proxy = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      captured.push({
        path: request.url ?? '',
        headers: request.headers,
        body: JSON.parse(raw.toString('utf8')) as Captured['body'],
      });
      const upstream = http.request(
        new URL(request.url ?? '/', mock().url),
        { method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => response.destroy());
      upstream.end(raw);
    });
  });
  await new Promise<void>((resolve) => proxy?.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
});
const proxyUrl = () => `http://127.0.0.1:${(proxy?.address() as AddressInfo).port}`;

describe.each(backendNames)('the Anthropic model path on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  beforeAll(async () => {
    if (!skip) await connectProviders(server(), mock().url, proxyUrl());
  });

  it.skipIf(skip)(
    'streams the Messages API and round-trips a tool call as tool_use and tool_result',
    async () => {
      const model = `claude-tool-${backend}`;
      mock().on(
        { model, predicate: afterToolResult },
        { content: 'The echo tool returned pong.', usage: { input_tokens: 42, output_tokens: 9 } },
      );
      mock().on(
        { model },
        {
          toolCalls: [{ id: 'toolu_echo_1', name: 'echo', arguments: { text: 'pong' } }],
          usage: { input_tokens: 30, output_tokens: 12 },
        },
      );
      const slug = await createAgent(server(), { model: `anthropic/${model}` });

      const run = await runAgent(server(), slug, { input: 'Echo pong, please.' });
      expect(run).toMatchObject({
        status: 'succeeded',
        output: { text: 'The echo tool returned pong.' },
        error: null,
        iterations: 2,
        usage: { inputTokens: 72, outputTokens: 21, totalTokens: 93 },
      });

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
      expect(streamedText(events, 2)).toBe('The echo tool returned pong.');
      expect(events.find((event) => event.type === 'tool-call')).toMatchObject({
        toolCallId: 'toolu_echo_1',
        toolName: 'echo',
        input: { text: 'pong' },
      });
      expect(events.find((event) => event.type === 'step-end')).toMatchObject({
        step: 1,
        finishReason: 'tool-calls',
        model: `anthropic/${model}`,
        usage: { inputTokens: 30, outputTokens: 12, totalTokens: 42 },
      });
      expect(events.find((event) => event.type === 'tool-result')).toMatchObject({
        toolCallId: 'toolu_echo_1',
        output: 'pong',
        isError: false,
      });

      // On the wire: the Messages API, its headers, tool_use and tool_result blocks.
      const sent = captured.filter((request) => request.body.model === model);
      expect(sent.map((request) => request.path)).toEqual(['/v1/messages', '/v1/messages']);
      for (const request of sent) {
        expect(request.headers['x-api-key']).toBe(mockKey);
        expect(request.headers['anthropic-version']).toEqual(expect.any(String));
        expect(request.headers.authorization).toBeUndefined();
      }
      expect(sent[0]?.body).toMatchObject({
        model,
        stream: true,
        system: [{ type: 'text', text: instructions }],
        tools: [
          {
            name: 'echo',
            description: 'Returns the given text unchanged.',
            input_schema: {
              type: 'object',
              properties: { text: { type: 'string', description: 'The text to return.' } },
              required: ['text'],
            },
          },
        ],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Echo pong, please.' }] }],
      });
      expect(sent[1]?.body.messages).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'Echo pong, please.' }] },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_echo_1', name: 'echo', input: { text: 'pong' } }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_echo_1', content: 'pong' }] },
      ]);

      // aimock's journal saw the same two requests, and read the tool result from the tool_result block.
      expect(journalOf(mock(), model).map((entry) => [entry.path, entry.response.status])).toEqual([
        ['/v1/messages', 200],
        ['/v1/messages', 200],
      ]);
      expect(requestsOf(mock(), model)[1]?.messages.at(-1)).toEqual({
        role: 'tool',
        tool_call_id: 'toolu_echo_1',
        content: 'pong',
      });

      const messages = await messagesOf(server(), run.threadId);
      expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
      expect(messages[1]?.content).toEqual([
        { type: 'tool-call', toolCallId: 'toolu_echo_1', toolName: 'echo', input: { text: 'pong' } },
      ]);
    },
  );
});
