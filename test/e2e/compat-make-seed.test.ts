import { describe, expect, it } from 'vitest';
import { BadRequestError, ConflictError, PermissionDeniedError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import {
  eventually,
  expectMakeError,
  makeClient,
  parseSse,
  startReceiver,
  uuidPattern,
} from './compat-make-support.ts';

const agents = '/ai-agents/v1/agents';
const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The fields and types of an agent as the seed documents them (required ones, then optional). */
function expectSeedAgent(agent: Record<string, unknown>): void {
  expect(agent.id).toMatch(uuidPattern);
  expect(typeof agent.name).toBe('string');
  expect(Number.isInteger(agent.teamId)).toBe(true);
  expect(Number.isNaN(Date.parse(String(agent.createdAt)))).toBe(false);
  expect(typeof agent.systemPrompt).toBe('string');
  expect(typeof agent.defaultModel).toBe('string');
  if (agent.makeConnectionId !== undefined) expect(Number.isInteger(agent.makeConnectionId)).toBe(true);
  if (agent.llmProviderId !== undefined) expect(Number.isInteger(agent.llmProviderId)).toBe(true);
  expect(['string', 'undefined']).toContain(typeof agent.makeConnectionType);
  expect(['text', 'json-schema']).toContain((agent.outputParser as { type?: unknown }).type);
}

describe.each(backendNames)(
  "the Make seed's documented requests, verbatim, on a fresh %s server",
  (backend) => {
    const { skip, server } = useTestServer(backend);

    it.skipIf(skip)('answers every documented request with the documented status and fields', async () => {
      const make = makeClient(server());

      // GET /ai-agents/v1/agents?teamId=1 → 200, a list (the starter kit's agent is on it).
      const listed = await make('GET', agents);
      expect(listed.status, listed.text).toBe(200);
      expect(Array.isArray(listed.body)).toBe(true);
      expect((listed.body as unknown[]).length).toBeGreaterThan(0);
      for (const agent of listed.body as Record<string, unknown>[]) expectSeedAgent(agent);

      // POST /ai-agents/v1/agents?teamId=1 with the documented fields (docs/compat/make.md's example).
      const created = await make('POST', agents, {
        body: {
          name: 'Example Agent',
          teamId: 1,
          makeConnectionId: 1,
          defaultModel: 'playground',
          systemPrompt: 'You are a helpful assistant.',
        },
      });
      expect(created.status, created.text).toBe(201);
      const agent = created.body as Record<string, unknown>;
      expectSeedAgent(agent);
      const id = String(agent.id);

      // GET /ai-agents/v1/agents/{agentId}?teamId=1 → 200 with the optional connection fields too.
      const fetched = await make('GET', `${agents}/${id}`);
      expect(fetched.status, fetched.text).toBe(200);
      expect(fetched.body).toEqual({
        id,
        name: 'Example Agent',
        teamId: 1,
        createdAt: agent.createdAt,
        systemPrompt: 'You are a helpful assistant.',
        defaultModel: 'playground',
        makeConnectionId: 1,
        makeConnectionType: 'playground',
        llmProviderId: 1,
        outputParser: { type: 'text' },
      });

      // PATCH with every documented field → 204, no content.
      const patched = await make('PATCH', `${agents}/${id}`, {
        body: {
          name: 'Example Agent',
          systemPrompt: 'do what user says',
          defaultModel: 'playground',
          outputParserFormat: { type: 'text' },
        },
      });
      expect(patched.status, patched.text).toBe(204);
      expect(patched.text).toBe('');

      // POST …/run with the documented body: only threadId (its documented default) → 200.
      const ran = await make('POST', `${agents}/${id}/run`, {
        body: { threadId: 'a64d23ed-2580-43e4-a898-e97193d7fd5e' },
      });
      expect(ran.status, ran.text).toBe(200);
      const result = ran.body as Record<string, unknown>;
      expect(Object.keys(result).sort()).toEqual([
        'executionTimeMs',
        'lastAgentIterationId',
        'response',
        'threadId',
      ]);
      expect(typeof result.response).toBe('string');
      expect(Number.isInteger(result.executionTimeMs)).toBe(true);
      expect(result.threadId).toBe('a64d23ed-2580-43e4-a898-e97193d7fd5e');
      expect(result.lastAgentIterationId).toMatch(uuidPattern);

      // …and with threadId and callbackUrl: 200 at once, the result POSTed when the run ends.
      const receiver = await startReceiver();
      try {
        const started = await make('POST', `${agents}/${id}/run`, {
          body: { threadId: 'a64d23ed-2580-43e4-a898-e97193d7fd5e', callbackUrl: receiver.url },
        });
        expect(started.status, started.text).toBe(200);
        expect(started.body).toEqual({
          response: '',
          threadId: 'a64d23ed-2580-43e4-a898-e97193d7fd5e',
          lastAgentIterationId: expect.stringMatching(uuidPattern) as unknown,
        });
        await eventually(
          () => receiver.received.length,
          (count) => count === 1,
        );
        const delivered = JSON.parse(receiver.received[0]?.body ?? '') as Record<string, unknown>;
        expect(delivered).toMatchObject({
          threadId: 'a64d23ed-2580-43e4-a898-e97193d7fd5e',
          lastAgentIterationId: (started.body as { lastAgentIterationId: string }).lastAgentIterationId,
        });
        expect(receiver.received[0]?.headers['x-runyard-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      } finally {
        await receiver.close();
      }

      // POST …/run/stream with its documented default threadId → 200, text/event-stream, steps as in
      // the seed's example: the system step ends with the current time.
      const streamed = await make('POST', `${agents}/${id}/run/stream`, {
        body: { threadId: 'd7fbd183-6b53-4dba-9469-00ec3d047cef' },
      });
      expect(streamed.status, streamed.text).toBe(200);
      expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = parseSse(streamed.text);
      expect(events.map((event) => event.event)).toEqual(['step', 'step']);
      const [system, assistant] = events.map((event) => event.data as Record<string, string>);
      expect(Object.keys(system ?? {}).sort()).toEqual(['agentIterationId', 'content', 'id', 'role']);
      expect(system?.role).toBe('system');
      const [prompt, timeLine] = (system?.content ?? '').split('\n');
      expect(prompt).toBe('do what user says');
      expect(timeLine).toMatch(/^Current time \(ISO\): /);
      expect(timeLine?.slice('Current time (ISO): '.length)).toMatch(isoTime);
      expect(assistant?.role).toBe('assistant');

      // DELETE → 204, no content.
      const deleted = await make('DELETE', `${agents}/${id}`);
      expect(deleted.status, deleted.text).toBe(204);
      expect(deleted.text).toBe('');
    });
  },
);

describe.each(backendNames)('a Make client moving over keeps its ids on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)("serves the client's teamId and makeConnectionId once they are set", async () => {
    const { admin } = server();
    const workspace = (await admin.workspaces.list()).data.find((item) => item.name === 'default');
    const workspaceId = workspace?.id ?? '';
    expect(workspace?.teamId).toBe(1);
    // The ids this client has used at Make.
    expect((await admin.workspaces.update(workspaceId, { teamId: 4213 })).teamId).toBe(4213);
    expect((await admin.workspaces.get(workspaceId)).teamId).toBe(4213);
    expect((await admin.providers.update('playground', { number: 98765 })).number).toBe(98765);

    const make = makeClient(server());
    const created = await make('POST', agents, {
      teamId: 4213,
      body: {
        name: 'Moved',
        teamId: 4213,
        makeConnectionId: 98765,
        defaultModel: 'playground',
        systemPrompt: 'Be brief.',
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ teamId: 4213, makeConnectionId: 98765, llmProviderId: 98765 });
    const id = String((created.body as { id: string }).id);
    const ran = await make('POST', `${agents}/${id}/run`, {
      teamId: 4213,
      body: { messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(ran.status, ran.text).toBe(200);
    expect(ran.body).toMatchObject({ response: 'You said: hi' });
    // The old ids are gone: team 1 is no team, connection 1 no connection.
    expectMakeError(await make('GET', agents, { teamId: 1 }), 404);
    const oldConnection = expectMakeError(
      await make('POST', agents, {
        teamId: 4213,
        body: { name: 'x', teamId: 4213, makeConnectionId: 1, defaultModel: 'playground', systemPrompt: 'x' },
      }),
      400,
    );
    expect(String(oldConnection.detail)).toMatch(/makeConnectionId/);

    // The built-in provider takes a new number and nothing else.
    await expect(admin.providers.update('playground', { models: ['other'] })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await admin.providers.update('playground', { number: 1 });
    await admin.providers.update('playground', { number: 98765 });
  });

  it.skipIf(skip)('keeps provider numbers unique in a workspace, chosen or assigned', async () => {
    const { admin } = server();
    const kept = await admin.providers.create({
      name: 'kept-connection',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
      number: 555,
    });
    expect(kept.number).toBe(555);
    const taken = admin.providers.create({
      name: 'second',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
      number: 555,
    });
    await expect(taken).rejects.toBeInstanceOf(ConflictError);
    await expect(taken).rejects.toThrow(/number 555 belongs to provider 'kept-connection'/);
    await expect(admin.providers.update('kept-connection', { number: 98765 })).rejects.toThrow(
      /number 98765 belongs to provider 'playground'/,
    );
    // The next assigned number is the highest plus one; past the column's top, a free one.
    const next = await admin.providers.create({
      name: 'assigned',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
    });
    expect(next.number).toBe(98766);
    await admin.providers.update('assigned', { number: 2_147_483_647 });
    const afterTop = await admin.providers.create({
      name: 'after-top',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
    });
    expect(afterTop.number).toBe(556);
    await expect(
      admin.providers.create({ name: 'too-big', kind: 'openai', number: 2_147_483_648 }),
    ).rejects.toBeInstanceOf(BadRequestError);
    const numbers = (await admin.providers.list()).data.map((provider) => provider.number);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it.skipIf(skip)("lets only the instance administrator set a teamId, and never another's", async () => {
    const { admin, client } = server();
    const other = await admin.workspaces.create({ name: 'other team' });
    const otherAdmin = client(
      (await admin.apiKeys.create({ name: 'other admin', scopes: ['admin'], workspaceId: other.id })).key,
    );
    // Its own admin may read it and send an empty change, not move its teamId.
    expect(await otherAdmin.workspaces.update(other.id, {})).toEqual(other);
    await expect(otherAdmin.workspaces.update(other.id, { teamId: 777 })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    // Another workspace's teamId is taken.
    const taken = admin.workspaces.update(other.id, { teamId: 4213 });
    await expect(taken).rejects.toBeInstanceOf(ConflictError);
    await expect(taken).rejects.toThrow(/teamId 4213 belongs to another workspace/);
    const moved = await admin.workspaces.update(other.id, { teamId: 2_147_483_647 });
    expect(moved.teamId).toBe(2_147_483_647);
    // The next workspace still gets a number that fits.
    const third = await admin.workspaces.create({ name: 'third team' });
    expect(third.teamId).toBeLessThan(2_147_483_647);
    const teams = (await admin.workspaces.list()).data.map((item) => item.teamId);
    expect(new Set(teams).size).toBe(teams.length);
  });
});
