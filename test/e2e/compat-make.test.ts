import { describe, expect, it } from 'vitest';
import { uuidToId } from '../../packages/server/src/shared/id-uuid-codec.ts';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import { expectMakeError, makeClient, uuidPattern } from './compat-make-support.ts';

const agents = '/ai-agents/v1/agents';

describe.each(backendNames)('the Make AI Agents surface: agents on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  const playgroundNumber = async () => (await server().admin.providers.get('playground')).number;

  it.skipIf(skip)('numbers providers in the /v1 resource: the connection ids of Make', async () => {
    const { admin } = server();
    const playground = await admin.providers.get('playground');
    expect(playground.number).toBe(1);
    const local = await admin.providers.create({
      name: 'numbered',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
    });
    expect(local.number).toBe(2);
    expect((await admin.providers.get('numbered')).number).toBe(2);
    // A changed provider keeps its number.
    expect((await admin.providers.update('numbered', { models: ['m'] })).number).toBe(2);
    const listed = (await admin.providers.list()).data.map((provider) => provider.number);
    expect(new Set(listed).size).toBe(listed.length);
  });

  it.skipIf(skip)('creates, lists, gets, changes and deletes an agent as the seed documents', async () => {
    const make = makeClient(server());
    const connection = await playgroundNumber();
    const created = await make('POST', agents, {
      body: {
        name: 'Example Agent',
        teamId: 1,
        makeConnectionId: connection,
        defaultModel: 'playground',
        systemPrompt: 'You are a helpful assistant.',
      },
    });
    expect(created.status, created.text).toBe(201);
    const agent = created.body as Record<string, unknown>;
    expect(agent).toEqual({
      agentId: expect.stringMatching(uuidPattern) as unknown,
      id: agent.agentId,
      name: 'Example Agent',
      teamId: 1,
      createdAt: expect.any(String) as unknown,
      systemPrompt: 'You are a helpful assistant.',
      defaultModel: 'playground',
      makeConnectionId: connection,
      makeConnectionType: 'playground',
      llmProviderId: connection,
      outputParser: { type: 'text' },
    });
    expect(Number.isNaN(Date.parse(String(agent.createdAt)))).toBe(false);
    const id = String(agent.id);
    const { agentId: _agentId, ...view } = agent;

    const listed = await make('GET', agents);
    expect(listed.status).toBe(200);
    expect(Array.isArray(listed.body)).toBe(true);
    expect(listed.body).toContainEqual(view);

    const fetched = await make('GET', `${agents}/${id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(view);

    // The same agent through /v1: the uuid is its agt_ id, the model its provider/model.
    const native = await server().admin.agents.get(uuidToId('agent', id) ?? '');
    expect(native).toMatchObject({
      slug: 'example-agent',
      name: 'Example Agent',
      model: 'playground/playground',
      instructions: 'You are a helpful assistant.',
      outputSchema: null,
      version: 1,
    });

    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const patched = await make('PATCH', `${agents}/${id}`, {
      body: {
        name: 'Renamed',
        systemPrompt: 'Be brief.',
        outputParserFormat: { type: 'json-schema', schema },
      },
    });
    expect(patched.status, patched.text).toBe(204);
    expect(patched.text).toBe('');
    expect((await make('GET', `${agents}/${id}`)).body).toEqual({
      ...view,
      name: 'Renamed',
      systemPrompt: 'Be brief.',
      outputParser: { type: 'json-schema', schema },
    });
    expect(await server().admin.agents.get(native.id)).toMatchObject({
      name: 'Renamed',
      instructions: 'Be brief.',
      outputSchema: schema,
      version: 2,
    });
    // An empty PATCH changes nothing, and back to text clears the schema.
    expect((await make('PATCH', `${agents}/${id}`, { body: {} })).status).toBe(204);
    expect(
      (await make('PATCH', `${agents}/${id}`, { body: { outputParserFormat: { type: 'text' } } })).status,
    ).toBe(204);
    expect((await make('GET', `${agents}/${id}`)).body).toMatchObject({ outputParser: { type: 'text' } });

    // DELETE with a JSON content type and no body, as some clients send it.
    const deleted = await make('DELETE', `${agents}/${id}`, {
      headers: { 'content-type': 'application/json' },
    });
    expect(deleted.status, deleted.text).toBe(204);
    expect(deleted.text).toBe('');
    const gone = expectMakeError(await make('GET', `${agents}/${id}`), 404);
    expect(gone.message).toBe('Not found');
    expect((await make('GET', agents)).body).not.toContainEqual(expect.objectContaining({ id }));
    expectMakeError(await make('DELETE', `${agents}/${id}`), 404);
    expectMakeError(await make('PATCH', `${agents}/${id}`, { body: { name: 'x' } }), 404);
  });

  it.skipIf(skip)('derives slugs from names and numbers repeated names', async () => {
    const make = makeClient(server());
    const body = {
      name: 'Support Bot!',
      teamId: 1,
      makeConnectionId: await playgroundNumber(),
      defaultModel: 'playground',
      systemPrompt: 'Help.',
    };
    const first = await make('POST', agents, { body });
    const second = await make('POST', agents, { body });
    const odd = await make('POST', agents, { body: { ...body, name: 'Ü' } });
    const slugs = await Promise.all(
      [first, second, odd].map(async (response) => {
        expect(response.status, response.text).toBe(201);
        const id = uuidToId('agent', String((response.body as { id: string }).id)) ?? '';
        return (await server().admin.agents.get(id)).slug;
      }),
    );
    expect(slugs).toEqual(['support-bot', 'support-bot-2', 'agent-u']);
  });

  it.skipIf(skip)('takes a full provider/model, Make data structures, and switches providers', async () => {
    const { admin } = server();
    const make = makeClient(server());
    const local = await admin.providers.create({
      name: 'local-llm',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
      models: ['llama/3.1'],
    });
    const playground = await playgroundNumber();
    const created = await make('POST', agents, {
      body: {
        name: 'Structured',
        teamId: 1,
        makeConnectionId: playground,
        defaultModel: 'playground/playground',
        systemPrompt: 'Extract.',
        outputParserFormat: {
          type: 'make-schema',
          schema: [
            { name: 'response', type: 'text', label: 'Agent Response', required: true },
            { name: 'score', type: 'uinteger' },
            { name: 'mood', type: 'select', options: [{ label: 'Good', value: 'good' }, { value: 'bad' }] },
            { name: 'tags', type: 'array', spec: { name: 'tag', type: 'text' } },
            { name: 'owner', type: 'collection', spec: [{ name: 'email', type: 'email', required: true }] },
          ],
        },
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = String((created.body as { id: string }).id);
    expect(created.body).toMatchObject({
      defaultModel: 'playground',
      makeConnectionId: playground,
      outputParser: {
        type: 'json-schema',
        schema: {
          type: 'object',
          properties: {
            response: { type: 'string', description: 'Agent Response' },
            score: { type: 'integer', minimum: 0 },
            mood: { enum: ['good', 'bad'] },
            tags: { type: 'array', items: { type: 'string' } },
            owner: { type: 'object', properties: { email: { type: 'string' } }, required: ['email'] },
          },
          required: ['response'],
        },
      },
    });

    // A model of the connection's list, even with a slash in its name, stays on that connection.
    const onLocal = await make('POST', agents, {
      body: {
        name: 'Llama',
        teamId: 1,
        makeConnectionId: local.number,
        defaultModel: 'llama/3.1',
        systemPrompt: 'Hi.',
      },
    });
    expect(onLocal.body).toMatchObject({
      defaultModel: 'llama/3.1',
      makeConnectionId: local.number,
      makeConnectionType: 'openai-compatible',
    });
    const localAgent = uuidToId('agent', String((onLocal.body as { id: string }).id)) ?? '';
    expect((await admin.agents.get(localAgent)).model).toBe('local-llm/llama/3.1');

    // A full reference to another connection contradicts makeConnectionId.
    const contradiction = expectMakeError(
      await make('POST', agents, {
        body: {
          name: 'Mixed',
          teamId: 1,
          makeConnectionId: local.number,
          defaultModel: 'playground/playground',
          systemPrompt: 'Hi.',
        },
      }),
      400,
    );
    expect(contradiction.detail).toMatch(/defaultModel/);

    // PATCH has no makeConnectionId: a full reference moves the agent to that provider.
    expect(
      (await make('PATCH', `${agents}/${id}`, { body: { defaultModel: 'local-llm/other' } })).status,
    ).toBe(204);
    expect((await make('GET', `${agents}/${id}`)).body).toMatchObject({
      defaultModel: 'other',
      makeConnectionId: local.number,
      llmProviderId: local.number,
      makeConnectionType: 'openai-compatible',
    });
    expect((await make('PATCH', `${agents}/${id}`, { body: { defaultModel: 'another' } })).status).toBe(204);
    expect((await admin.agents.get(uuidToId('agent', id) ?? '')).model).toBe('local-llm/another');
  });

  it.skipIf(skip)(
    "answers missing or wrong keys with 401, missing scopes with 403, in Make's shape",
    async () => {
      const { admin } = server();
      const make = makeClient(server());
      expectMakeError(await make('GET', agents, { authorization: null }), 401);
      expectMakeError(await make('GET', agents, { authorization: 'Token ry_not_a_key' }), 401);
      expectMakeError(await make('GET', agents, { authorization: 'Token' }), 401);
      expectMakeError(await make('GET', agents, { authorization: `Basic ${server().adminKey}` }), 401);
      expect((await make('GET', agents, { authorization: `Bearer ${server().adminKey}` })).status).toBe(200);
      expect((await make('GET', agents, { authorization: `token ${server().adminKey}` })).status).toBe(200);

      const reader = makeClient(
        server(),
        (await admin.apiKeys.create({ name: 'make reader', scopes: ['read'] })).key,
      );
      expect((await reader('GET', agents)).status).toBe(200);
      const denied = expectMakeError(
        await reader('POST', agents, {
          body: { name: 'x', teamId: 1, makeConnectionId: 1, defaultModel: 'playground', systemPrompt: 'x' },
        }),
        403,
      );
      expect(denied.message).toBe('Permission denied');
      const listed = (await make('GET', agents)).body as { id: string }[];
      const someAgent = listed[0]?.id ?? '00000000-0000-0000-0000-000000000000';
      expectMakeError(await reader('DELETE', `${agents}/${someAgent}`), 403);
      expectMakeError(
        await reader('POST', `${agents}/${someAgent}/run`, {
          body: { messages: [{ role: 'user', content: 'hi' }] },
        }),
        403,
      );
      // Keys never reach the logs, whichever header carried them.
      const logs = server().logs.join('\n');
      expect(logs).not.toContain(server().adminKey);
      expect(logs).not.toContain('ry_not_a_key');
      const writer = makeClient(
        server(),
        (await admin.apiKeys.create({ name: 'make writer', scopes: ['write'] })).key,
      );
      expectMakeError(
        await writer('POST', `${agents}/${someAgent}/run`, {
          body: { messages: [{ role: 'user', content: 'hi' }] },
        }),
        403,
      );
    },
  );

  it.skipIf(skip)("answers another team's id like a team that does not exist", async () => {
    const { admin } = server();
    const make = makeClient(server());
    const other = await admin.workspaces.create({ name: 'make other team' });
    const otherKey = (await admin.apiKeys.create({ name: 'other', scopes: ['admin'], workspaceId: other.id }))
      .key;
    const otherMake = makeClient(server(), otherKey);

    const foreign = expectMakeError(await make('GET', agents, { teamId: other.teamId }), 404);
    const missing = expectMakeError(await make('GET', agents, { teamId: 987_654 }), 404);
    expect(foreign.message).toBe(missing.message);
    expect(String(foreign.detail).replace(String(other.teamId), 'N')).toBe(
      String(missing.detail).replace('987654', 'N'),
    );
    expectMakeError(await otherMake('GET', agents, { teamId: 1 }), 404);

    // Each team sees its own agents only; an agent id of one team is unknown to the other.
    const created = await otherMake('POST', agents, {
      teamId: other.teamId,
      body: {
        name: 'Theirs',
        teamId: other.teamId,
        makeConnectionId: 1,
        defaultModel: 'playground',
        systemPrompt: 'Theirs.',
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ teamId: other.teamId, makeConnectionId: 1 });
    const theirs = String((created.body as { id: string }).id);
    expect((await otherMake('GET', agents, { teamId: other.teamId })).body).toEqual([
      expect.objectContaining({ id: theirs }),
    ]);
    expect((await make('GET', agents)).body).not.toContainEqual(expect.objectContaining({ id: theirs }));
    expectMakeError(await make('GET', `${agents}/${theirs}`), 404);
    expectMakeError(await make('DELETE', `${agents}/${theirs}`), 404);
    expectMakeError(
      await make('POST', `${agents}/${theirs}/run`, {
        body: { messages: [{ role: 'user', content: 'hi' }] },
      }),
      404,
    );
    expect((await otherMake('GET', `${agents}/${theirs}`, { teamId: other.teamId })).status).toBe(200);
  });

  it.skipIf(skip)("refuses bad input with 4xx in Make's shape, never 500", async () => {
    const make = makeClient(server());
    const connection = await playgroundNumber();
    const valid = {
      name: 'Valid',
      teamId: 1,
      makeConnectionId: connection,
      defaultModel: 'playground',
      systemPrompt: 'x',
    };
    const created = await make('POST', agents, { body: valid });
    const id = String((created.body as { id: string }).id);
    const run = `${agents}/${id}/run`;
    const message = [{ role: 'user', content: 'hi' }];

    const cases: [string, string, Parameters<typeof make>[2], number][] = [
      ['GET', agents, { teamId: null }, 400],
      ['GET', agents, { teamId: 'abc' }, 400],
      ['GET', agents, { teamId: '0' }, 400],
      ['GET', agents, { teamId: '1.5' }, 400],
      ['POST', agents, { body: '{"name": ' }, 400],
      ['POST', agents, { body: [] }, 400],
      ['POST', agents, { body: 'null' }, 400],
      ['POST', agents, {}, 400],
      ['POST', agents, { body: { ...valid, name: '' } }, 400],
      ['POST', agents, { body: { ...valid, name: 7 } }, 400],
      ['POST', agents, { body: { ...valid, systemPrompt: '' } }, 400],
      ['POST', agents, { body: { ...valid, teamId: undefined } }, 400],
      ['POST', agents, { body: { ...valid, teamId: 2 } }, 400],
      ['POST', agents, { body: { ...valid, makeConnectionId: 999 } }, 400],
      ['POST', agents, { body: { ...valid, makeConnectionId: 'one' } }, 400],
      ['POST', agents, { body: { ...valid, defaultModel: 'has spaces' } }, 400],
      ['POST', agents, { body: { ...valid, scenarios: [{ makeScenarioId: 1 }] } }, 400],
      ['POST', agents, { body: { ...valid, outputParserFormat: { type: 'xml' } } }, 400],
      ['POST', agents, { body: { ...valid, outputParserFormat: 'text' } }, 400],
      [
        'POST',
        agents,
        { body: { ...valid, outputParserFormat: { type: 'json-schema', schema: { type: 'nonsense' } } } },
        400,
      ],
      [
        'POST',
        agents,
        {
          body: {
            ...valid,
            outputParserFormat: { type: 'make-schema', schema: [{ name: 'a', type: 'blob' }] },
          },
        },
        400,
      ],
      ['POST', agents, { body: { ...valid, name: 'bad\u0000name' } }, 400],
      ['POST', agents, { body: 'name=x', headers: { 'content-type': 'text/plain' } }, 415],
      ['PATCH', `${agents}/${id}`, { body: { systemPrompt: '' } }, 400],
      ['PATCH', `${agents}/${id}`, { body: { makeConnectionId: 1 } }, 400],
      ['PATCH', `${agents}/${id}`, { body: { teamId: 5 } }, 400],
      ['PATCH', `${agents}/${id}`, { body: { defaultModel: '' } }, 400],
      ['POST', run, { body: { messages: [] } }, 400],
      ['POST', run, { body: { messages: [{ role: 'robot', content: 'hi' }] } }, 400],
      ['POST', run, { body: { messages: [{ role: 'user' }] } }, 400],
      ['POST', run, { body: { messages: message, threadId: '' } }, 400],
      ['POST', run, { body: { messages: message, threadId: 5 } }, 400],
      ['POST', run, { body: { messages: message, callbackUrl: 'ftp://example.com/x' } }, 400],
      ['POST', run, { body: { messages: message, callbackUrl: 'not a url' } }, 400],
      ['POST', `${run}/stream`, { body: { messages: 'hi' } }, 400],
      ['GET', `${agents}/not-a-uuid`, {}, 404],
      ['GET', `${agents}/00000000-0000-0000-0000-000000000000`, {}, 404],
      ['POST', `${agents}/00000000-0000-0000-0000-000000000000/run`, { body: { messages: message } }, 404],
      ['GET', '/ai-agents/v1/contexts', {}, 404],
      ['PUT', `${agents}/${id}`, { body: {} }, 404],
      ['GET', '/nothing/here', {}, 404],
    ];
    for (const [method, path, call, status] of cases) {
      const response = await make(method, path, call);
      const body = expectMakeError(response, status);
      if (status === 400 && call?.body !== undefined && typeof call.body === 'object' && call.body !== null) {
        expect(String(body.detail).length).toBeGreaterThan(0);
      }
    }
    // Schema failures name each field.
    const unknownField = expectMakeError(
      await make('POST', agents, { body: { ...valid, scenarios: [], mcpConfigs: [] } }),
      400,
    );
    expect(unknownField.suberrors).toEqual([
      { path: 'scenarios', message: 'is not a known field' },
      { path: 'mcpConfigs', message: 'is not a known field' },
    ]);
    // Nothing of the refused requests was written.
    expect(
      ((await make('GET', agents)).body as { name: string }[]).filter((agent) => agent.name === 'Valid'),
    ).toHaveLength(1);
  });
});
