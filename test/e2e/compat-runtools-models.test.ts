import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import { connectProviders, useModelMock } from '../support/model-path.ts';
import { useTestServer } from '../support/use-server.ts';
import {
  bodyOf,
  runResponseSchema,
  runtoolsClient,
  threadEventsResponseSchema,
  upsertResponseSchema,
  type RuntoolsCall,
} from './compat-runtools-http.ts';

const mock = useModelMock();

async function eventPage(call: RuntoolsCall, threadId: string, query: string) {
  return bodyOf(threadEventsResponseSchema, await call('GET', `/v1/threads/${threadId}/events?${query}`));
}

describe.each(backendNames)('the runtools surface over real model providers on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  // The default workspace gets `openai` and `anthropic` providers talking HTTP to the mock.
  beforeAll(async () => {
    if (!skip) await connectProviders(server(), mock().url);
  });

  it.skipIf(skip)('maps bare model ids: a provider listing the id first, else by kind', async () => {
    const call = runtoolsClient(server(), server().adminKey);
    const { admin } = server();
    const model = `gpt-runtools-${backend}`;
    mock().on({ model }, { content: 'Hello from the OpenAI wire protocol.' });

    // gpt-* goes to the provider of kind openai, and runs over HTTP.
    const byKind = await call('POST', '/v1/agents', { body: { slug: 'by-kind', model } });
    expect(bodyOf(upsertResponseSchema, byKind).data.action).toBe('created');
    expect((await admin.agents.get('by-kind')).model).toBe(`openai/${model}`);
    const run = await call('POST', '/v1/run', {
      body: { agent: 'by-kind', prompt: 'Say hello.', stream: false },
    });
    const ran = bodyOf(runResponseSchema, run).data;
    expect(ran).toMatchObject({
      status: 'completed',
      result: 'Hello from the OpenAI wire protocol.',
      iterations: 1,
    });
    expect(ran.usage.inputTokens).toBeGreaterThan(0);

    // A provider that lists the id wins over the kind its name implies.
    await admin.providers.create({
      name: 'compatible',
      kind: 'openai-compatible',
      baseUrl: `${mock().url}/v1`,
      apiKey: { secret: 'MOCK_KEY' },
      models: ['claude-listed'],
    });
    await call('POST', '/v1/agents', { body: { slug: 'by-listing', model: 'claude-listed' } });
    expect((await admin.agents.get('by-listing')).model).toBe('compatible/claude-listed');
    await call('POST', '/v1/agents', { body: { slug: 'by-anthropic', model: 'claude-other' } });
    expect((await admin.agents.get('by-anthropic')).model).toBe('anthropic/claude-other');
  });

  it.skipIf(skip)("shows an active run's start and input, and the rest once it ends", async () => {
    const call = runtoolsClient(server(), server().adminKey);
    const { admin } = server();
    const model = `gpt-slow-${backend}`;
    const answer = 'This answer takes a while to arrive, chunk by chunk.';
    mock().on({ model }, { content: answer }, { chunkSize: 4, latency: 150 });
    await call('POST', '/v1/agents', { body: { slug: 'quick', model: 'playground/playground' } });
    await call('POST', '/v1/agents', { body: { slug: 'slow', model } });

    const first = bodyOf(
      runResponseSchema,
      await call('POST', '/v1/run', { body: { agent: 'quick', prompt: 'first', stream: false } }),
    ).data;
    const threadId = first.threadId ?? '';
    const slowRun = call('POST', '/v1/run', {
      body: { agent: 'slow', prompt: 'take your time', threadId, stream: false },
    });
    // Wait until the slow run has started (it then streams for over a second).
    let runningId: string | undefined;
    for (let attempt = 0; attempt < 200 && runningId === undefined; attempt += 1) {
      const running = (await admin.runs.list({ thread: threadId })).data.find(
        (run) => run.status === 'running',
      );
      runningId = running?.id;
      if (runningId === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(runningId).toMatch(/^run_/);

    const during = await eventPage(call, threadId, 'limit=500');
    expect(during).toMatchObject({ hasMore: false, nextCursor: null });
    expect(during.data.events.map((event) => [event.type, event.runId])).toEqual([
      ['run_started', first.runId],
      ['user_message', first.runId],
      ['assistant_message', first.runId],
      ['run_completed', first.runId],
      ['run_started', runningId],
      ['user_message', runningId],
    ]);
    // A cursor taken inside the active run continues there once it has ended.
    const head = await eventPage(call, threadId, 'limit=5');
    expect(head.hasMore).toBe(true);
    expect((await admin.runs.get(runningId ?? '')).status).toBe('running');

    const ended = bodyOf(runResponseSchema, await slowRun).data;
    expect(ended).toMatchObject({ runId: runningId, status: 'completed', result: answer });
    const after = await eventPage(call, threadId, 'limit=500');
    expect(after.data.events.slice(0, during.data.events.length)).toEqual(during.data.events);
    expect(after.data.events.slice(during.data.events.length).map((event) => event.type)).toEqual([
      'assistant_message',
      'run_completed',
    ]);
    const tail = await eventPage(
      call,
      threadId,
      `limit=500&cursor=${encodeURIComponent(head.nextCursor ?? '')}`,
    );
    expect([...head.data.events, ...tail.data.events]).toEqual(after.data.events);
  });
});
