/**
 * A fake OpenAI chat-completions server for the run-overhead benchmark: answers at once, over
 * keep-alive loopback, with the smallest exchange that exercises a tool loop.
 *
 *   no `tool` message in the request → a call to `echo` with {"text":"hi"}
 *   a `tool` message present         → the final answer `finalAnswer`
 *
 * `stream: true` gets SSE chunks (as the engine's doStream asks for), otherwise one JSON body; both
 * carry `usage`. Run as a script it listens on an ephemeral port of 127.0.0.1 and prints
 * `listening <url>` on stdout, so the benchmark can run it as a process of its own.
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';

export const fakeModelName = 'bench-model';
export const echoInput = { text: 'hi' } as const;
/** Streamed as these deltas, so the second step emits several text-delta events. */
export const finalAnswerDeltas = ['The echo ', 'tool said: ', 'hi'] as const;
export const finalAnswer = finalAnswerDeltas.join('');

const usage = { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 };

interface ChatRequest {
  model?: unknown;
  stream?: unknown;
  messages?: unknown;
}

export function createFakeOpenAiServer(): http.Server {
  let counter = 0;
  const server = http.createServer((request, response) => {
    if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: `no route ${request.method} ${request.url}` } }));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body: ChatRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
      } catch {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'the body is not JSON' } }));
        return;
      }
      counter += 1;
      const id = `chatcmpl-${counter}`;
      const model = typeof body.model === 'string' ? body.model : fakeModelName;
      const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown }[]) : [];
      const afterTool = messages.some((message) => message.role === 'tool');
      if (body.stream === true) streamAnswer(response, id, model, afterTool);
      else jsonAnswer(response, id, model, afterTool);
    });
  });
  server.keepAliveTimeout = 60_000;
  return server;
}

function jsonAnswer(response: http.ServerResponse, id: string, model: string, afterTool: boolean): void {
  const message = afterTool
    ? { role: 'assistant', content: finalAnswer }
    : {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: `call_${id}`,
            type: 'function',
            function: { name: 'echo', arguments: JSON.stringify(echoInput) },
          },
        ],
      };
  const payload = JSON.stringify({
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: afterTool ? 'stop' : 'tool_calls' }],
    usage,
  });
  response.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  response.end(payload);
}

function streamAnswer(response: http.ServerResponse, id: string, model: string, afterTool: boolean): void {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choice: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: choice === undefined ? [] : [{ index: 0, ...choice }],
      ...extra,
    })}\n\n`;
  const parts: string[] = [];
  if (afterTool) {
    parts.push(chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }));
    for (const delta of finalAnswerDeltas)
      parts.push(chunk({ delta: { content: delta }, finish_reason: null }));
    parts.push(chunk({ delta: {}, finish_reason: 'stop' }));
  } else {
    parts.push(
      chunk({
        delta: {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              index: 0,
              id: `call_${id}`,
              type: 'function',
              function: { name: 'echo', arguments: JSON.stringify(echoInput) },
            },
          ],
        },
        finish_reason: null,
      }),
    );
    parts.push(chunk({ delta: {}, finish_reason: 'tool_calls' }));
  }
  parts.push(chunk(undefined, { usage }));
  parts.push('data: [DONE]\n\n');
  // One write: the whole answer is ready at once, and the client parses it chunk by chunk anyway.
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  response.end(parts.join(''));
}

/** Listens on an ephemeral loopback port; resolves to the base URL (without `/v1`). */
export async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the fake model server has no port');
  return `http://127.0.0.1:${address.port}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const server = createFakeOpenAiServer();
  const url = await listen(server);
  process.stdout.write(`listening ${url}\n`);
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
