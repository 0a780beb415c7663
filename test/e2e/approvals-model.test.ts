import http from 'node:http';
import type net from 'node:net';
import type { ChatCompletionRequest, JournalEntry } from '@copilotkit/aimock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { connectProviders, eventsOf, journalOf, useModelMock } from '../support/model-path.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { useTestServer } from '../support/use-server.ts';
import { approvalAgent } from '../support/approval-agent.ts';
import { waitForRunStatus } from '../support/wait-until.ts';

/**
 * Human approval with a real model on the wire (aimock): what the model is sent after an approval,
 * a denial or an expiry, and that a `run`-scoped approval covers the model's later calls.
 */

/** A loopback API that records every request that reaches it. */
let hits: string[] = [];
let target = '';
const api = http.createServer((request, response) => {
  hits.push(`${request.method} ${request.url}`);
  response.writeHead(200, { 'content-type': 'text/plain' }).end('paid');
});
beforeAll(async () => {
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(api.address() as net.AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

const mock = useModelMock();

type WireMessage = ChatCompletionRequest['messages'][number];

/** The id of the tool call whose result is the request's last message, if it ends with one. */
const lastToolCallId = (request: ChatCompletionRequest): string | undefined => {
  const last = request.messages.at(-1);
  return last?.role === 'tool' ? last.tool_call_id : undefined;
};

/** The last message of a journaled request (the tool result the model reads, after a tool call). */
const lastMessageOf = (entry: JournalEntry | undefined): WireMessage | undefined =>
  (entry?.body as ChatCompletionRequest | undefined)?.messages.at(-1);

/** A message's content as text, whether the provider sent a string or content parts. */
const textOf = (message: WireMessage | undefined): string =>
  typeof message?.content === 'string' ? message.content : JSON.stringify(message?.content ?? null);

/**
 * Scripts `model`: the first request → a `http_fetch` call of `${target}${firstPath}` (`call_a`); the
 * request after its result → `secondPath` (`call_b`) when given, else `finalText`; after `call_b` →
 * `finalText`. The predicates exclude each other, so fixture order does not matter.
 */
function scriptModel(model: string, finalText: string, firstPath: string, secondPath?: string): void {
  const fetchCall = (id: string, path: string) => ({
    toolCalls: [{ id, name: 'http_fetch', arguments: { url: `${target}${path}` } }],
  });
  mock().on(
    { model, predicate: (request) => lastToolCallId(request) === undefined },
    fetchCall('call_a', firstPath),
  );
  mock().on(
    { model, predicate: (request) => lastToolCallId(request) === 'call_a' },
    secondPath === undefined ? { content: finalText } : fetchCall('call_b', secondPath),
  );
  mock().on({ model, predicate: (request) => lastToolCallId(request) === 'call_b' }, { content: finalText });
}

/** Providers on the mock, the `guarded` policy (http_fetch needs approval) and an agent on `model`. */
async function prepare(server: TestServer, slug: string, model: string): Promise<void> {
  const { admin } = server;
  if ((await admin.secrets.list()).data.every((secret) => secret.name !== 'MOCK_KEY')) {
    await connectProviders(server, mock().url);
  }
  await approvalAgent(admin, { slug, target, model: `openai/${model}` });
}

describe.each(backendNames)('human approval with a model on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('scope run: the model calls the tool again and that call is not paused', async () => {
    const { admin } = server();
    const model = `gpt-approval-run-${backend}`;
    scriptModel(model, 'Both paid.', '/pay?n=1', '/pay?n=2');
    await prepare(server(), 'run-scoped', model);
    hits = [];
    const paused = await admin.runs.create('run-scoped', { input: 'Pay twice.' });
    expect(paused.status).toBe('requires_action');
    expect(hits).toEqual([]);
    const [approval, ...others] = (await admin.approvals.list({ runId: paused.id })).data;
    expect(others).toEqual([]);
    expect(approval).toMatchObject({ toolName: 'http_fetch', arguments: { url: `${target}/pay?n=1` } });

    await admin.approvals.approve(approval!.id, { scope: 'run' });
    const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed', 'requires_action']);
    expect(ended).toMatchObject({ status: 'succeeded', output: { text: 'Both paid.' } });
    expect(hits).toEqual(['GET /pay?n=1', 'GET /pay?n=2']);
    expect((await admin.approvals.list({ runId: paused.id })).data.map((each) => each.id)).toEqual([
      approval!.id,
    ]);
    const events = await eventsOf(server(), paused.id);
    expect(events.filter((event) => event.type === 'approval-requested')).toHaveLength(1);
    const results = events.flatMap((event) => (event.type === 'tool-result' ? [event] : []));
    expect(results.map((result) => [result.toolCallId, result.isError])).toEqual([
      ['call_a', false],
      ['call_b', false],
    ]);

    // The model was asked three times: the pause re-sent nothing, and each call's result reached it.
    const journal = journalOf(mock(), model);
    expect(journal).toHaveLength(3);
    expect(lastMessageOf(journal[1])).toMatchObject({ role: 'tool', tool_call_id: 'call_a' });
    expect(lastMessageOf(journal[2])).toMatchObject({ role: 'tool', tool_call_id: 'call_b' });
    expect(textOf(lastMessageOf(journal[2]))).toContain('paid');
  });

  it.skipIf(skip)('deny with a reason: the model reads the reason and the run succeeds', async () => {
    const { admin } = server();
    const model = `gpt-approval-deny-${backend}`;
    scriptModel(model, 'Understood, I will not pay.', '/pay?n=3');
    await prepare(server(), 'deny-read', model);
    hits = [];
    const paused = await admin.runs.create('deny-read', { input: 'Pay once.' });
    expect(paused.status).toBe('requires_action');
    const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
    await admin.approvals.deny(approval!.id, { reason: 'over budget this quarter' });
    const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed', 'requires_action']);
    expect(ended).toMatchObject({ status: 'succeeded', output: { text: 'Understood, I will not pay.' } });
    expect(hits).toEqual([]);

    const journal = journalOf(mock(), model);
    expect(journal).toHaveLength(2);
    const toolMessage = lastMessageOf(journal[1]);
    expect(toolMessage).toMatchObject({ role: 'tool', tool_call_id: 'call_a' });
    expect(textOf(toolMessage)).toContain(
      "a human denied this call of 'http_fetch': over budget this quarter",
    );
  });
});

describe.each(backendNames)('approval expiry with a model on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;

  it.skipIf(skip)('an expired approval reaches the model as the tool result', async () => {
    const server = await startTestServer(backend, { RUNYARD_APPROVAL_TIMEOUT_MS: '300' });
    try {
      const model = `gpt-approval-expiry-${backend}`;
      scriptModel(model, 'Nobody approved; stopping.', '/pay?n=4');
      await prepare(server, 'expiring-model', model);
      hits = [];
      const paused = await server.admin.runs.create('expiring-model', { input: 'Pay once.' });
      expect(paused.status).toBe('requires_action');
      const ended = await waitForRunStatus(server.admin, paused.id, ['succeeded', 'failed']);
      expect(ended).toMatchObject({ status: 'succeeded', output: { text: 'Nobody approved; stopping.' } });
      expect(hits).toEqual([]);
      const [approval] = (await server.admin.approvals.list({ runId: paused.id })).data;
      expect(approval).toMatchObject({ status: 'expired', decidedBy: null });

      const journal = journalOf(mock(), model);
      expect(journal).toHaveLength(2);
      const toolMessage = lastMessageOf(journal[1]);
      expect(toolMessage).toMatchObject({ role: 'tool', tool_call_id: 'call_a' });
      // The gate's refusal for an expired approval is the tool result the model reads.
      expect(textOf(toolMessage)).toContain(
        "the approval of this call of 'http_fetch' expired before anyone decided; the call was not made",
      );
    } finally {
      await server.close();
    }
  });
});
