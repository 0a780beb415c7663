import { beforeAll, describe, expect, it } from 'vitest';
import { sleep, type Run } from '@runyard/protocol';
import { InternalServerError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  eventsOf,
  journalOf,
  messagesOf,
  useModelMock,
} from '../support/model-path.ts';
import { unusedPort } from '../support/ports.ts';
import { randomCredentials, useToolServer } from '../support/tool-server.ts';
import { useTestServer } from '../support/use-server.ts';
import type { TestServer } from '../support/server.ts';

const credentials = randomCredentials();
const mock = useModelMock();
const toolServer = useToolServer(credentials);

interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}
interface Echo {
  method: string;
  path: string;
  query: Record<string, string[]>;
  headers: Record<string, string | undefined>;
  body: unknown;
}

const echoOf = (output: unknown) => (output as HttpResult).body as Echo;

/** Every credential value the tools used, the OAuth2 access tokens included. */
const secretValues = () => [
  credentials.apiKey,
  credentials.bearerToken,
  credentials.basicPassword,
  Buffer.from(`${credentials.basicUser}:${credentials.basicPassword}`).toString('base64'),
  credentials.clientSecret,
  ...toolServer().issuedTokens,
];

function expectNoCredential(label: string, text: string): void {
  for (const value of secretValues()) expect(text.includes(value), `${label} holds ${value}`).toBe(false);
}

describe.each(backendNames)('http tools against a real API on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  const invoke = async (name: string, input: Record<string, unknown> = {}) =>
    (await server().admin.tools.invoke(name, input, { policies: ['loopback'] })).output as HttpResult;
  const invokeError = async (name: string, input: Record<string, unknown> = {}) => {
    const error = await server()
      .admin.tools.invoke(name, input, { policies: ['loopback'] })
      .catch((caught: unknown) => caught);
    expect(error, name).toBeInstanceOf(InternalServerError);
    return error as InternalServerError;
  };
  const create = (name: string, fields: Record<string, unknown>) =>
    server().admin.tools.create({ name, kind: 'http', baseUrl: toolServer().url, ...fields } as never);

  beforeAll(async () => {
    if (skip) return;
    const { admin } = server();
    await admin.secrets.create({ name: 'API_KEY', value: credentials.apiKey });
    await admin.secrets.create({ name: 'BEARER_TOKEN', value: credentials.bearerToken });
    await admin.secrets.create({ name: 'BASIC_PASSWORD', value: credentials.basicPassword });
    await admin.secrets.create({ name: 'CLIENT_SECRET', value: credentials.clientSecret });
    await connectProviders(server(), mock().url);
    // Deny-by-default egress: the tools' loopback server is allowed by name (host and port).
    await admin.policies.create({
      name: 'loopback',
      rules: [{ effect: 'allow', resource: `${toolServer().url}/**`, operations: ['*'] }],
    });
    await create('key-header', {
      path: '/api-key/check',
      auth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', value: { secret: 'API_KEY' }, prefix: 'Key ' },
    });
    await create('key-query', {
      path: '/api-key/check',
      auth: { type: 'apiKey', in: 'query', name: 'api_key', value: { secret: 'API_KEY' } },
    });
    await create('bearer-check', {
      description: 'Checks the bearer token.',
      path: '/bearer/check',
      auth: { type: 'bearer', token: { secret: 'BEARER_TOKEN' } },
    });
    await create('basic-check', {
      path: '/basic/check',
      auth: { type: 'basic', username: credentials.basicUser, password: { secret: 'BASIC_PASSWORD' } },
    });
  });

  it.skipIf(skip)('places input in the path, query, headers and body', async () => {
    await create(`place-get-${backend}`, {
      path: '/echo/{id}?fixed=1',
      inputSchema: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          q: { type: 'array', items: { type: 'string' } },
          trace: { type: 'string', 'x-runyard-in': 'header' },
        },
        required: ['id'],
      },
    });
    const got = await invoke(`place-get-${backend}`, { id: 'a b/c', q: ['1', '2'], trace: 't-1' });
    expect(got.status).toBe(200);
    expect(echoOf(got)).toMatchObject({
      method: 'GET',
      path: '/echo/a%20b%2Fc',
      query: { fixed: ['1'], q: ['1', '2'] },
      body: null,
    });
    // Only the safe response headers reach the model.
    expect(got.headers).toMatchObject({ 'content-type': 'application/json', 'x-request-id': 'up-1' });
    expect(got.headers['set-cookie']).toBeUndefined();
    expect(toolServer().requests.at(-1)?.headers.trace).toBe('t-1');
    // A direct invoke has no run: each one sends a fresh Idempotency-Key.
    const invokeKey = toolServer().requests.at(-1)?.headers['idempotency-key'];
    expect(invokeKey).toMatch(/^invoke_[0-9a-f-]{36}$/);

    await create(`place-post-${backend}`, {
      method: 'POST',
      path: '/echo/{id}',
      inputSchema: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          page: { type: 'integer', 'x-runyard-in': 'query' },
          title: { type: 'string' },
          tags: { type: 'array' },
          'Idempotency-Key': { type: 'string', 'x-runyard-in': 'header' },
        },
      },
    });
    await invoke(`place-post-${backend}`, { id: 7 });
    const unkeyed = toolServer().requests.at(-1)?.headers['idempotency-key'];
    expect(unkeyed).toMatch(/^invoke_/);
    expect(unkeyed).not.toBe(invokeKey);
    // A key the tool's own input places is sent as it is.
    const posted = await invoke(`place-post-${backend}`, {
      id: 7,
      page: 2,
      title: 'T',
      tags: ['x'],
      'Idempotency-Key': 'own-key-1',
    });
    expect(toolServer().requests.at(-1)?.headers['idempotency-key']).toBe('own-key-1');
    expect(echoOf(posted)).toMatchObject({
      method: 'POST',
      path: '/echo/7',
      query: { page: ['2'] },
      body: { title: 'T', tags: ['x'] },
    });
    expect(toolServer().requests.at(-1)?.headers['content-type']).toBe('application/json');
  });

  it.skipIf(skip)('injects every kind of credential; none reaches the result', async () => {
    const before = toolServer().requests.length;
    const header = await invoke('key-header');
    expect(header.status).toBe(200);
    expect(echoOf(header).headers['x-api-key']).toBe('Key [redacted]');
    const query = await invoke('key-query');
    expect(query.status).toBe(200);
    expect(echoOf(query).query.api_key).toEqual(['[redacted]']);
    const bearer = await invoke('bearer-check');
    expect(bearer.status).toBe(200);
    expect(echoOf(bearer).headers.authorization).toBe('Bearer [redacted]');
    const basic = await invoke('basic-check');
    expect(basic.status).toBe(200);
    expect(echoOf(basic).headers.authorization).toBe('Basic [redacted]');

    // The API saw each credential exactly where the definition put it.
    const seen = toolServer().requests.slice(before);
    expect(seen.map((request) => request.path)).toEqual([
      '/api-key/check',
      '/api-key/check',
      '/bearer/check',
      '/basic/check',
    ]);
    expect(seen[0]?.headers['x-api-key']).toBe(`Key ${credentials.apiKey}`);
    expect(seen[1]?.query.api_key).toEqual([credentials.apiKey]);
    expect(seen[2]?.headers.authorization).toBe(`Bearer ${credentials.bearerToken}`);
    expect(seen[3]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${credentials.basicUser}:${credentials.basicPassword}`).toString('base64')}`,
    );
    expectNoCredential('results', JSON.stringify([header, query, bearer, basic]));

    // A refused credential is a result the model can read (401), not an error.
    await create(`no-auth-${backend}`, { path: '/bearer/check' });
    const refused = await invoke(`no-auth-${backend}`);
    expect(refused).toMatchObject({ status: 401, body: { error: 'rejected ' } });
  });

  it.skipIf(skip)(
    'gets an OAuth2 token once, reuses it, refetches after a 401 and after expiry',
    async () => {
      const tokenRequests = () => toolServer().hits('/oauth/token');
      const start = tokenRequests();
      await create(`oauth-${backend}`, {
        path: '/oauth/check',
        auth: {
          type: 'oauth2',
          tokenUrl: `${toolServer().url}/oauth/token`,
          clientId: credentials.clientId,
          clientSecret: { secret: 'CLIENT_SECRET' },
          scopes: ['things:read', backend],
        },
      });
      const first = await invoke(`oauth-${backend}`);
      const second = await invoke(`oauth-${backend}`);
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(tokenRequests() - start).toBe(1);
      const token = toolServer().issuedTokens.at(-1) ?? '';
      expect(token).toContain('things:read');
      expect(toolServer().requests.at(-1)?.headers.authorization).toBe(`Bearer ${token}`);
      expect(echoOf(second).headers.authorization).toBe('Bearer [redacted]');
      const tokenRequest = toolServer().requests.findLast((request) => request.path === '/oauth/token');
      expect(new URLSearchParams(tokenRequest?.body).get('scope')).toBe(`things:read ${backend}`);

      // Revoked early: the 401 drops the cached token, one new token, one more try.
      toolServer().revokedTokens.add(token);
      expect((await invoke(`oauth-${backend}`)).status).toBe(200);
      expect(tokenRequests() - start).toBe(2);

      // A token that lives one second is not used past its life.
      toolServer().tokenLifetimeSeconds = 1;
      toolServer().revokedTokens.add(toolServer().issuedTokens.at(-1) ?? '');
      expect((await invoke(`oauth-${backend}`)).status).toBe(200);
      expect(tokenRequests() - start).toBe(3);
      expect((await invoke(`oauth-${backend}`)).status).toBe(200);
      expect(tokenRequests() - start).toBe(3);
      await sleep(1100);
      expect((await invoke(`oauth-${backend}`)).status).toBe(200);
      expect(tokenRequests() - start).toBe(4);
      toolServer().tokenLifetimeSeconds = 3600;
    },
  );

  it.skipIf(skip)(
    'fails clearly, without the secret, when the token endpoint refuses the client',
    async () => {
      const { admin } = server();
      await admin.secrets.create({
        name: `WRONG_CLIENT_SECRET_${backend}`,
        value: 'wrong-client-secret-value',
      });
      await create(`oauth-wrong-${backend}`, {
        path: '/oauth/check',
        auth: {
          type: 'oauth2',
          tokenUrl: `${toolServer().url}/oauth/token`,
          clientId: credentials.clientId,
          clientSecret: { secret: `WRONG_CLIENT_SECRET_${backend}` },
          scopes: [],
        },
      });
      const error = await invokeError(`oauth-wrong-${backend}`);
      expect(error).toMatchObject({ status: 502, code: 'TOOL_FAILED', details: { reason: 'credentials' } });
      expect(error.message).toContain('HTTP 401');
      expect(error.message).toContain('invalid_client');
      // The endpoint echoed the client's Basic header in its answer: it is scrubbed.
      const wrongBasic = Buffer.from(`${credentials.clientId}:wrong-client-secret-value`).toString('base64');
      expect(error.message).toContain('bad client Basic [redacted]');
      expect(error.message).not.toContain(wrongBasic);
      expect(error.message).not.toContain('wrong-client-secret-value');
    },
  );

  it.skipIf(skip)('times out a slow API, and retries 5xx only for idempotent methods', async () => {
    await create(`slow-${backend}`, { path: '/slow', timeoutMs: 300 });
    const slowBefore = toolServer().hits('/slow');
    const started = Date.now();
    const timeout = await invokeError(`slow-${backend}`);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(timeout).toMatchObject({ code: 'TOOL_FAILED', details: { reason: 'timeout' } });
    expect(timeout.message).toContain('did not answer within 300 ms');
    expect(toolServer().hits('/slow') - slowBefore).toBe(1);

    await create(`fail-get-${backend}`, { path: '/fail' });
    await create(`fail-post-${backend}`, { path: '/fail', method: 'POST' });
    await create(`fail-put-${backend}`, { path: '/fail', method: 'PUT', maxRetries: 1 });
    const gets = toolServer().hits('/fail', 'GET');
    const posts = toolServer().hits('/fail', 'POST');
    const puts = toolServer().hits('/fail', 'PUT');
    expect(await invoke(`fail-get-${backend}`)).toMatchObject({
      status: 500,
      body: { error: 'upstream broke' },
    });
    expect(toolServer().hits('/fail', 'GET') - gets).toBe(3);
    expect((await invoke(`fail-post-${backend}`)).status).toBe(500);
    expect(toolServer().hits('/fail', 'POST') - posts).toBe(1);
    expect((await invoke(`fail-put-${backend}`)).status).toBe(500);
    expect(toolServer().hits('/fail', 'PUT') - puts).toBe(2);
    // A retry is the same call: it carries the same Idempotency-Key.
    const putKeys = toolServer()
      .requests.filter((request) => request.path === '/fail' && request.method === 'PUT')
      .slice(-2)
      .map((request) => request.headers['idempotency-key']);
    expect(putKeys[0]).toMatch(/^invoke_/);
    expect(putKeys[1]).toBe(putKeys[0]);

    const port = await unusedPort();
    await server().admin.tools.create({
      name: `closed-${backend}`,
      kind: 'http',
      baseUrl: `http://127.0.0.1:${port}`,
    });
    await server().admin.policies.update('loopback', {
      rules: [
        { effect: 'allow', resource: `${toolServer().url}/**`, operations: ['*'] },
        { effect: 'allow', resource: `http://127.0.0.1:${port}/**`, operations: ['*'] },
      ],
    });
    const refused = await invokeError(`closed-${backend}`);
    expect(refused).toMatchObject({ details: { reason: 'unreachable' } });
    expect(refused.message).toContain('ECONNREFUSED');
  });

  it.skipIf(skip)('cuts an oversized body with a marker, and follows redirects up to five', async () => {
    await create(`big-${backend}`, {
      path: '/big',
      maxResponseBytes: 1000,
      inputSchema: { type: 'object', properties: { bytes: { type: 'integer' } } },
    });
    const big = await invoke(`big-${backend}`, { bytes: 300_000 });
    expect(big.status).toBe(200);
    const text = big.body as string;
    expect(text.startsWith('{"data":"xxx')).toBe(true);
    expect(text.endsWith('…[truncated: 1000 of 300000 bytes]')).toBe(true);
    expect(text.length).toBe(1000 + '…[truncated: 1000 of 300000 bytes]'.length);
    const small = await invoke(`big-${backend}`, { bytes: 500 });
    expect((small.body as { data: string }).data).toHaveLength(489);

    await create(`redirect-${backend}`, {
      path: '/redirect/{hops}',
      auth: { type: 'bearer', token: { secret: 'BEARER_TOKEN' } },
    });
    const landed = await invoke(`redirect-${backend}`, { hops: '5' });
    expect(landed.status).toBe(200);
    expect(echoOf(landed).path).toBe('/echo/landed');
    expect(toolServer().requests.at(-1)?.headers.authorization).toBe(`Bearer ${credentials.bearerToken}`);
    await create(`loop-${backend}`, { path: '/loop' });
    const loops = toolServer().hits('/loop');
    const looped = await invokeError(`loop-${backend}`);
    expect(looped).toMatchObject({ details: { reason: 'too-many-redirects' } });
    expect(toolServer().hits('/loop') - loops).toBe(6);
  });

  it.skipIf(skip)('calls the operations of an OpenAPI document as <name>.<operationId>', async () => {
    const { admin } = server();
    const tool = await admin.tools.create({
      name: `notes-${backend}`,
      kind: 'http',
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Notes', version: '1' },
        servers: [{ url: toolServer().url }],
        paths: {
          '/users/{id}': {
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
            get: {
              operationId: 'getUser',
              summary: 'One user',
              parameters: [{ name: 'verbose', in: 'query', schema: { type: 'boolean' } }],
            },
          },
          '/notes': {
            post: {
              operationId: 'createNote',
              requestBody: {
                required: true,
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Note' } } },
              },
            },
          },
        },
        components: {
          schemas: {
            Note: {
              type: 'object',
              properties: { text: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
              required: ['text'],
            },
          },
        },
      },
      auth: { type: 'bearer', token: { secret: 'BEARER_TOKEN' } },
    });
    expect(tool.operations.map((operation) => operation.name)).toEqual([
      `notes-${backend}.getUser`,
      `notes-${backend}.createNote`,
    ]);
    expect(await invoke(`notes-${backend}.getUser`, { id: '42', verbose: true })).toMatchObject({
      status: 200,
      body: { id: '42', verbose: 'true' },
    });
    expect(toolServer().requests.at(-1)?.headers.authorization).toBe(`Bearer ${credentials.bearerToken}`);
    expect(await invoke(`notes-${backend}.createNote`, { text: 'hi', tags: ['a'] })).toMatchObject({
      status: 201,
      body: { created: { text: 'hi', tags: ['a'] } },
    });
    await expect(admin.tools.invoke(`notes-${backend}.createNote`, { tags: ['a'] })).rejects.toMatchObject({
      status: 400,
      details: { issues: [{ path: 'input' }] },
    });
    await expect(admin.tools.invoke(`notes-${backend}`, {})).rejects.toMatchObject({ status: 404 });
    await expect(admin.tools.invoke(`notes-${backend}.deleteNote`, {})).rejects.toMatchObject({
      status: 404,
    });
  });

  it.skipIf(skip)(
    'runs an agent whose model calls an OpenAPI operation and an authenticated tool',
    async () => {
      const { admin } = server();
      await admin.agents.create({
        policies: ['loopback'],
        slug: `http-runner-${backend}`,
        name: 'HTTP runner',
        model: 'playground/playground',
        tools: ['key-header', `notes-${backend}.createNote`],
      });
      const run = await admin.runs.create(`http-runner-${backend}`, {
        input: `use key-header {} use notes-${backend}.createNote {"text":"from a run"}`,
      });
      expect(run.status).toBe('succeeded');
      const events = await eventsOf(server(), run.id);
      const results = events.flatMap((event) => (event.type === 'tool-result' ? [event] : []));
      expect(
        results
          .map((result) => [result.toolName, result.isError, (result.output as HttpResult).status])
          // The two calls run in parallel: their results are logged as each ends.
          .sort((left, right) => String(left[0]).localeCompare(String(right[0]))),
      ).toEqual([
        ['key-header', false, 200],
        [`notes-${backend}.createNote`, false, 201],
      ]);
      // Found by name: the parallel calls may end in either order.
      const keyHeader = results.find((result) => result.toolName === 'key-header');
      expect(echoOf(keyHeader?.output).headers['x-api-key']).toBe('Key [redacted]');
      await expectRunHoldsNoCredential(server(), run);
    },
  );

  it.skipIf(skip)(
    'sends the http result to the model (aimock journal), and only the API sees the token',
    async () => {
      const model = `gpt-http-tool-${backend}`;
      mock().on({ model, predicate: afterToolResult }, { content: 'The check passed.' });
      mock().on({ model }, { toolCalls: [{ id: 'call_bearer_1', name: 'bearer-check', arguments: {} }] });
      await server().admin.agents.create({
        policies: ['loopback'],
        slug: `http-model-${backend}`,
        name: 'HTTP model',
        model: `openai/${model}`,
        tools: ['bearer-check'],
      });
      const before = toolServer().hits('/bearer/check');
      const run = await server().admin.runs.create(`http-model-${backend}`, { input: 'Check the token.' });
      expect(run).toMatchObject({ status: 'succeeded', output: { text: 'The check passed.' } });
      expect(toolServer().hits('/bearer/check') - before).toBe(1);
      expect(toolServer().requests.at(-1)?.headers.authorization).toBe(`Bearer ${credentials.bearerToken}`);
      expect(toolServer().requests.at(-1)?.headers['idempotency-key']).toBe(`${run.id}:call_bearer_1`);

      const journal = journalOf(mock(), model);
      expect(journal).toHaveLength(2);
      const first = journal[0]?.body as { tools?: { function: { name: string; description: string } }[] };
      expect(first.tools?.map((tool) => [tool.function.name, tool.function.description])).toEqual([
        ['bearer-check', 'Checks the bearer token.'],
      ]);
      const second = journal[1]?.body as {
        messages: { role: string; content: unknown; tool_call_id?: string }[];
      };
      const toolMessage = second.messages.at(-1);
      expect(toolMessage).toMatchObject({ role: 'tool', tool_call_id: 'call_bearer_1' });
      const received = JSON.parse(String(toolMessage?.content)) as HttpResult;
      expect(received).toMatchObject({
        status: 200,
        body: { path: '/bearer/check', headers: { authorization: 'Bearer [redacted]' } },
      });
      expectNoCredential('the journal', JSON.stringify(journal.map((entry) => entry.body)));
      await expectRunHoldsNoCredential(server(), run);
    },
  );

  it.skipIf(skip)(
    'sends dotted operation names in the form providers accept and maps the calls back',
    async () => {
      const model = `gpt-openapi-tool-${backend}`;
      const wireName = `notes-${backend}_createNote`;
      mock().on({ model, predicate: afterToolResult }, { content: 'Noted.' });
      mock().on(
        { model },
        { toolCalls: [{ id: 'call_note_1', name: wireName, arguments: { text: 'from the model' } }] },
      );
      await server().admin.agents.create({
        policies: ['loopback'],
        slug: `openapi-model-${backend}`,
        name: 'OpenAPI model',
        model: `openai/${model}`,
        tools: [`notes-${backend}.createNote`],
      });
      const run = await server().admin.runs.create(`openapi-model-${backend}`, { input: 'Take a note.' });
      expect(run).toMatchObject({ status: 'succeeded', output: { text: 'Noted.' } });
      const results = (await eventsOf(server(), run.id)).flatMap((event) =>
        event.type === 'tool-result' ? [event] : [],
      );
      expect(results.map((result) => [result.toolName, (result.output as HttpResult).status])).toEqual([
        [`notes-${backend}.createNote`, 201],
      ]);
      const journal = journalOf(mock(), model);
      expect(journal).toHaveLength(2);
      const first = journal[0]?.body as { tools?: { function: { name: string } }[] };
      expect(first.tools?.map((tool) => tool.function.name)).toEqual([wireName]);
      const second = JSON.stringify(journal[1]?.body);
      expect(second).toContain(wireName);
      expect(second).not.toContain(`notes-${backend}.createNote`);
    },
  );
});

/** The run, its events, its thread's messages and the server's log lines hold no credential. */
async function expectRunHoldsNoCredential(server: TestServer, run: Run): Promise<void> {
  expectNoCredential('the run', JSON.stringify(await server.admin.runs.get(run.id)));
  expectNoCredential('the events', JSON.stringify(await eventsOf(server, run.id)));
  expectNoCredential('the messages', JSON.stringify(await messagesOf(server, run.threadId)));
  expectNoCredential('the logs', server.logs.join('\n'));
}
