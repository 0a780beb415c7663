import { describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import {
  agentListResponseSchema,
  bodyOf,
  deletedResponseSchema,
  expectRuntoolsError,
  freshWorkspace,
  runResponseSchema,
  runtoolsClient,
  threadEventsResponseSchema,
  threadListResponseSchema,
  threadResponseSchema,
  upsertResponseSchema,
  type RuntoolsCall,
  type ThreadEvent,
} from './compat-runtools-http.ts';

/** Every event of a thread, page by page with `limit`, following nextCursor while hasMore. */
async function allEvents(call: RuntoolsCall, threadId: string, limit: number): Promise<ThreadEvent[]> {
  const events: ThreadEvent[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const query = `limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const response = await call('GET', `/v1/threads/${threadId}/events?${query}`);
    expect(response.status).toBe(200);
    const page = bodyOf(threadEventsResponseSchema, response);
    expect(page.data.events.length).toBeLessThanOrEqual(limit);
    events.push(...page.data.events);
    if (!page.hasMore) {
      expect(page.nextCursor).toBeNull();
      return events;
    }
    cursor = page.nextCursor ?? '';
  }
  throw new Error('paging did not end');
}

describe.each(backendNames)('the runtools surface: threads, auth and errors on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('creates, lists, renames, archives and deletes threads', async () => {
    const key = await freshWorkspace(server(), 'runtools threads');
    const call = runtoolsClient(server(), key);
    await call('POST', '/v1/agents', { body: { slug: 'helper', tools: ['echo'] } });

    const createdResponse = await call('POST', '/v1/threads', {
      body: { title: 'Planning', metadata: { team: 'a' } },
    });
    expect(createdResponse.status).toBe(201);
    const created = bodyOf(threadResponseSchema, createdResponse).data.thread;
    const threadId = created.id;
    expect(created).toMatchObject({
      id: expect.stringMatching(/^thr_/) as unknown,
      title: 'Planning',
      archived: false,
      agentId: null,
      executionMode: null,
      metadata: { team: 'a' },
    });
    const run = await call('POST', '/v1/run', {
      body: { agent: 'helper', prompt: 'hello', threadId, stream: false },
    });
    expect(bodyOf(runResponseSchema, run).data.threadId).toBe(threadId);

    const snapshotResponse = await call('GET', `/v1/threads/${threadId}`);
    expect(snapshotResponse.status).toBe(200);
    const snapshot = bodyOf(threadEventsResponseSchema, snapshotResponse);
    const agentId = (await server().client(key).agents.get('helper')).id;
    expect(snapshot.data.thread).toMatchObject({ id: threadId, agentId, executionMode: 'managed' });
    expect(snapshot.data.events.map((event) => event.type)).toEqual([
      'run_started',
      'user_message',
      'assistant_message',
      'run_completed',
    ]);

    const renamed = await call('PATCH', `/v1/threads/${threadId}`, {
      body: { title: 'Renamed', archived: true },
    });
    expect(renamed.status).toBe(200);
    expect(bodyOf(threadResponseSchema, renamed).data.thread).toMatchObject({
      title: 'Renamed',
      archived: true,
      metadata: { team: 'a' },
    });
    const threadIds = async (query: string) => {
      const page = bodyOf(threadListResponseSchema, await call('GET', `/v1/threads${query}`));
      return page.data.threads.map((thread) => thread.id);
    };
    expect(await threadIds('')).not.toContain(threadId);
    expect(await threadIds('?archived=true&limit=100')).toContain(threadId);
    expect(bodyOf(threadListResponseSchema, await call('GET', '/v1/threads?archived=true'))).toMatchObject({
      hasMore: false,
      nextCursor: null,
    });

    const restored = await call('PATCH', `/v1/threads/${threadId}`, {
      body: { archived: false, metadata: { team: 'b' } },
    });
    expect(bodyOf(threadResponseSchema, restored).data.thread).toMatchObject({
      title: 'Renamed',
      archived: false,
      metadata: { team: 'b' },
    });
    expect((await server().client(key).threads.get(threadId)).metadata).toEqual({ team: 'b' });
    expect(await threadIds('')).toContain(threadId);

    const deleted = await call('DELETE', `/v1/threads/${threadId}`);
    expect(bodyOf(deletedResponseSchema, deleted)).toEqual({ data: { id: threadId, deleted: true } });
    expectRuntoolsError(await call('GET', `/v1/threads/${threadId}`), 404, 'not_found');
    expectRuntoolsError(await call('GET', `/v1/threads/${threadId}/events`), 404, 'not_found');
    expectRuntoolsError(await call('DELETE', `/v1/threads/${threadId}`), 404, 'not_found');
  });

  it.skipIf(skip)('pages the durable thread history by cursor, stable when new runs append', async () => {
    const key = await freshWorkspace(server(), 'runtools history');
    const call = runtoolsClient(server(), key);
    await call('POST', '/v1/agents', { body: { slug: 'helper', tools: ['echo'] } });
    const runOf = async (body: Record<string, unknown>) =>
      bodyOf(runResponseSchema, await call('POST', '/v1/run', { body: { ...body, stream: false } })).data;
    const first = await runOf({ agent: 'helper', prompt: 'use echo {"text":"hi"}' });
    const threadId = first.threadId ?? '';
    const second = await runOf({ agent: 'helper', prompt: 'thanks', threadId });

    const full = await allEvents(call, threadId, 500);
    expect(full.map((event) => [event.type, event.runId])).toEqual([
      ['run_started', first.runId],
      ['user_message', first.runId],
      ['tool_call', first.runId],
      ['tool_result', first.runId],
      ['assistant_message', first.runId],
      ['run_completed', first.runId],
      ['run_started', second.runId],
      ['user_message', second.runId],
      ['assistant_message', second.runId],
      ['run_completed', second.runId],
    ]);
    expect(full.map((event) => event.sequence)).toEqual(full.map((_, index) => index + 1));
    expect(full.every((event) => event.threadId === threadId)).toBe(true);
    expect(full[1]?.payload).toEqual({ role: 'user', content: 'use echo {"text":"hi"}' });
    expect(full[2]?.payload).toMatchObject({ tool: 'echo', input: { text: 'hi' } });
    expect(full[3]?.payload).toMatchObject({ tool: 'echo', output: 'hi', isError: false });
    expect(full[4]?.payload).toEqual({ role: 'assistant', content: 'echo returned: hi' });
    expect(full[5]?.payload).toMatchObject({
      status: 'completed',
      result: 'echo returned: hi',
      iterations: 2,
    });

    for (const limit of [1, 2, 3, 4, 9, 10]) expect(await allEvents(call, threadId, limit)).toEqual(full);

    // A cursor taken mid-history stays valid after another run appends to the thread.
    const head = bodyOf(
      threadEventsResponseSchema,
      await call('GET', `/v1/threads/${threadId}/events?limit=7`),
    );
    const cursor = head.nextCursor ?? '';
    const third = await runOf({ agent: 'helper', prompt: 'one more', threadId });
    const tail = bodyOf(
      threadEventsResponseSchema,
      await call('GET', `/v1/threads/${threadId}/events?limit=500&cursor=${encodeURIComponent(cursor)}`),
    );
    const grown = await allEvents(call, threadId, 500);
    expect([...head.data.events, ...tail.data.events]).toEqual(grown);
    expect(grown.slice(0, full.length)).toEqual(full);
    expect(grown.slice(full.length).map((event) => [event.type, event.runId])).toEqual([
      ['run_started', third.runId],
      ['user_message', third.runId],
      ['assistant_message', third.runId],
      ['run_completed', third.runId],
    ]);

    expectRuntoolsError(
      await call('GET', `/v1/threads/${threadId}/events?cursor=not-a-cursor`),
      400,
      'bad_request',
    );
    expectRuntoolsError(await call('GET', `/v1/threads/${threadId}/events?limit=501`), 400, 'bad_request');
  });

  it.skipIf(skip)(
    'accepts X-API-Key and Bearer; a missing or wrong key is a 401, a missing scope a 403',
    async () => {
      const key = await freshWorkspace(server(), 'runtools auth');
      const call = runtoolsClient(server(), key);
      expect((await call('GET', '/v1/agents')).status).toBe(200);
      expect((await call('GET', '/v1/agents', { bearer: true })).status).toBe(200);

      const missing = await call('GET', '/v1/agents', { key: undefined });
      expect(expectRuntoolsError(missing, 401, 'unauthorized').message).toContain('x-api-key');
      expectRuntoolsError(
        await call('GET', '/v1/threads', { key: 'rt_live_not_a_key' }),
        401,
        'unauthorized',
      );
      expectRuntoolsError(
        await call('POST', '/v1/run', { key: 'wrong', bearer: true, body: {} }),
        401,
        'unauthorized',
      );

      const workspace = server().client(key);
      const readOnly = await workspace.apiKeys.create({ name: 'reader', scopes: ['read'] });
      const reader = runtoolsClient(server(), readOnly.key);
      expect((await reader('GET', '/v1/agents')).status).toBe(200);
      const forbidden = await reader('POST', '/v1/agents', { body: { slug: 'nope' } });
      expect(expectRuntoolsError(forbidden, 403, 'forbidden').details).toMatchObject({
        requiredScope: 'write',
      });
      await call('POST', '/v1/agents', { body: { slug: 'helper' } });
      expectRuntoolsError(
        await reader('POST', '/v1/run', { body: { agent: 'helper', prompt: 'hi' } }),
        403,
        'forbidden',
      );
    },
  );

  it.skipIf(skip)('answers bad input with a 4xx in runtools shape, never a 500', async () => {
    const key = await freshWorkspace(server(), 'runtools bad input');
    const call = runtoolsClient(server(), key);
    await call('POST', '/v1/agents', { body: { slug: 'helper' } });
    const badRequests: [string, string, Parameters<RuntoolsCall>[2]][] = [
      ['POST', '/v1/agents', { rawBody: '{"slug": ' }],
      ['POST', '/v1/agents', { body: {} }],
      ['POST', '/v1/agents', { body: { slug: 'Not A Slug' } }],
      ['POST', '/v1/agents', { body: { slug: 'ok-slug', color: 'blue' } }],
      ['POST', '/v1/agents', { body: { slug: 'ok-slug', executionMode: 'cloud' } }],
      ['POST', '/v1/agents', { body: { slug: 'ok-slug', executionMode: 'in_sandbox' } }],
      ['POST', '/v1/agents', { body: { slug: 'ok-slug', executionMode: 'local-mac' } }],
      // A bare model id no provider serves is stored with a warning (compat-runtools.test.ts); a
      // provider/model reference must name an existing provider.
      ['POST', '/v1/agents', { body: { slug: 'ok-slug', model: 'nowhere/model' } }],
      ['POST', '/v1/agents', { body: { slug: 'ok-slug', maxIterations: 0 } }],
      ['POST', '/v1/agents', { body: { slug: 'ok-slug', env: { 'bad name': 'x' } } }],
      ['POST', '/v1/agents', { body: { slug: 'ok-slug', tools: 'echo' } }],
      ['POST', '/v1/agents', { body: [1, 2] }],
      ['POST', '/v1/run', { body: { agent: 'helper' } }],
      ['POST', '/v1/run', { body: { prompt: 'no agent' } }],
      ['POST', '/v1/run', { body: { agent: 'helper', prompt: 'x', stream: 'yes' } }],
      ['POST', '/v1/run', { body: { agent: 'helper', prompt: '' } }],
      ['POST', '/v1/run', { body: { agent: 'helper', messages: [{ role: 'tool', content: 'x' }] } }],
      ['POST', '/v1/run', { body: { agent: 'helper', prompt: 'x', config: { maxTokens: 'many' } } }],
      ['POST', '/v1/run', { body: { agent: 'helper', prompt: 'x', unknown: true } }],
      ['POST', '/v1/run', { rawBody: '' }],
      ['POST', '/v1/agents/helper/run', { body: { agent: 'someone-else', prompt: 'x' } }],
      ['GET', '/v1/agents?limit=0', {}],
      ['GET', '/v1/threads?archived=maybe', {}],
      ['PATCH', '/v1/threads/thr_x', { body: { title: 5 } }],
      ['POST', '/v1/threads', { body: { metadata: { runtools: {} } } }],
    ];
    for (const [method, path, options] of badRequests) {
      const response = await call(method, path, options);
      expect({ method, path, body: options?.body, status: response.status }).toMatchObject({ status: 400 });
      expectRuntoolsError(response, 400, 'bad_request');
    }
    const wrongType = await call('POST', '/v1/agents', {
      rawBody: 'slug=x',
      contentType: 'application/x-www-form-urlencoded',
    });
    expectRuntoolsError(wrongType, 415, 'unsupported_media_type');
    expectRuntoolsError(await call('GET', '/v1/sandboxes'), 404, 'not_found');
    expectRuntoolsError(
      await call('POST', '/v1/run', { body: { agent: 'nobody', prompt: 'x' } }),
      404,
      'not_found',
    );
    const unknownThread = await call('POST', '/v1/run', {
      body: { agent: 'helper', prompt: 'x', threadId: 'thr_docs_example', stream: false },
    });
    expectRuntoolsError(unknownThread, 404, 'not_found');
    expect(server().logs.some((line) => line.includes('"statusCode":500'))).toBe(false);
  });

  it.skipIf(skip)("answers 404 for another workspace's agents and threads", async () => {
    const ownerKey = await freshWorkspace(server(), 'runtools owner');
    const strangerKey = await freshWorkspace(server(), 'runtools stranger');
    const owner = runtoolsClient(server(), ownerKey);
    const stranger = runtoolsClient(server(), strangerKey);
    const agent = await owner('POST', '/v1/agents', { body: { slug: 'private-helper' } });
    const run = await owner('POST', '/v1/run', {
      body: { agent: 'private-helper', prompt: 'secret', stream: false },
    });
    const threadId = bodyOf(runResponseSchema, run).data.threadId ?? '';
    const agentId = bodyOf(upsertResponseSchema, agent).data.id;

    const attempts: [string, string, Parameters<RuntoolsCall>[2]][] = [
      ['GET', '/v1/agents/private-helper', {}],
      ['GET', `/v1/agents/${agentId}`, {}],
      ['DELETE', '/v1/agents/private-helper', {}],
      ['POST', '/v1/run', { body: { agent: 'private-helper', prompt: 'x', stream: false } }],
      ['POST', '/v1/run', { body: { agent: agentId, prompt: 'x' } }],
      ['POST', '/v1/agents/private-helper/run', { body: { prompt: 'x' } }],
      ['GET', `/v1/threads/${threadId}`, {}],
      ['GET', `/v1/threads/${threadId}/events`, {}],
      ['PATCH', `/v1/threads/${threadId}`, { body: { title: 'mine now' } }],
      ['DELETE', `/v1/threads/${threadId}`, {}],
    ];
    for (const [method, path, options] of attempts) {
      expectRuntoolsError(await stranger(method, path, options), 404, 'not_found');
    }
    // A thread of A is unknown to B's own agent too.
    await stranger('POST', '/v1/agents', { body: { slug: 'own-helper' } });
    const intoForeignThread = await stranger('POST', '/v1/run', {
      body: { agent: 'own-helper', prompt: 'x', threadId, stream: false },
    });
    expectRuntoolsError(intoForeignThread, 404, 'not_found');
    expect(
      bodyOf(agentListResponseSchema, await stranger('GET', '/v1/agents')).data.map((item) => item.slug),
    ).toEqual(['own-helper']);
    expect(bodyOf(threadListResponseSchema, await stranger('GET', '/v1/threads')).data.threads).toEqual([]);

    // A is unchanged.
    const ownThread = bodyOf(threadEventsResponseSchema, await owner('GET', `/v1/threads/${threadId}`));
    expect(ownThread.data.thread.title).toBeNull();
    expect(ownThread.data.events).toHaveLength(4);
    expect((await owner('GET', '/v1/agents/private-helper')).status).toBe(200);
  });
});
