import { routes, type CreateTool } from '@runyard/protocol';
import { BadRequestError, Runyard } from '@runyard/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, testBootstrapKey, type TestServer } from '../support/server.ts';
import { unusedPort } from '../support/ports.ts';
import { useToolServer, type ToolServerCredentials } from '../support/tool-server.ts';
import {
  canary,
  filesUnder,
  logPlaces,
  placesHolding,
  recordedResponse,
  responsePlaces,
  startModelUpstream,
  storedPlaces,
  type ModelUpstream,
  type RecordedResponse,
} from './leak-search.ts';

describe.each(backendNames)('no secret leaks on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let upstream: ModelUpstream | undefined;
  const recorded: RecordedResponse[] = [];

  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = await response.clone().text();
    recorded.push(recordedResponse(init?.method ?? 'GET', url.pathname, response, body));
    return response;
  };
  const client = (apiKey: string) =>
    new Runyard({ baseUrl: server.url, apiKey, maxRetries: 0, fetch: recordingFetch });

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { RUNYARD_LOG_LEVEL: 'trace' });
    upstream = await startModelUpstream(acceptedUpstreamKey);
  });
  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  const providerKey = canary('provider');
  const rotatedProviderKey = canary('rotated');
  const acceptedUpstreamKey = rotatedProviderKey;
  const toolToken = canary('tool');
  const deletedValue = canary('deleted');
  const rejectedValue = canary('rejected');
  const malformedValue = canary('malformed');
  // An API for http tools that accepts exactly these credentials (and issues OAuth2 access tokens).
  const toolCredentials: ToolServerCredentials = {
    apiKey: canary('tool-api-key'),
    bearerToken: canary('tool-bearer'),
    basicUser: 'runyard',
    basicPassword: canary('tool-basic-password'),
    clientId: 'runyard-client',
    clientSecret: canary('tool-client-secret'),
  };
  const toolServer = useToolServer(toolCredentials);
  const plaintexts = [
    toolCredentials.apiKey,
    toolCredentials.bearerToken,
    toolCredentials.basicPassword,
    toolCredentials.clientSecret,
    providerKey,
    rotatedProviderKey,
    toolToken,
    deletedValue,
    rejectedValue,
    malformedValue,
  ];

  it.skipIf(skip)('never returns, logs or stores a secret value or an issued API key', async () => {
    const admin = client(server.adminKey);
    const upstreamUrl = upstream!.url;

    // Secrets, one created idempotently and replayed, one rotated, one deleted.
    const created = await admin.secrets.create(
      { name: 'OPENAI_API_KEY', value: providerKey },
      { idempotencyKey: 'create-openai-secret' },
    );
    const replayed = await admin.secrets.create(
      { name: 'OPENAI_API_KEY', value: providerKey },
      { idempotencyKey: 'create-openai-secret' },
    );
    expect(replayed).toEqual(created);
    expect(recorded.at(-1)?.text).toContain('idempotent-replayed: true');
    await admin.secrets.create({ name: 'TOOL_TOKEN', value: toolToken });
    await admin.secrets.create({ name: 'SHORT_LIVED', value: deletedValue });
    await admin.secrets.delete('SHORT_LIVED');

    // Failed writes that carry a secret value: invalid input and malformed JSON.
    await expect(admin.secrets.create({ name: 'not a valid name!', value: rejectedValue })).rejects.toThrow(
      BadRequestError,
    );
    const malformed = await recordingFetch(`${server.url}/v1/secrets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: `{"name": "MALFORMED", "value": "${malformedValue}" `,
    });
    expect(malformed.status).toBe(400);

    // Providers: one that answers, one on a closed port; both test calls reveal the secret inside Runyard.
    await admin.providers.create({
      name: 'local-openai',
      kind: 'openai-compatible',
      baseUrl: upstreamUrl,
      apiKey: { secret: 'OPENAI_API_KEY' },
      models: ['upstream-model'],
    });
    await admin.providers.create({
      name: 'unreachable',
      kind: 'openai-compatible',
      baseUrl: `http://127.0.0.1:${await unusedPort()}/v1`,
      apiKey: { secret: 'OPENAI_API_KEY' },
    });
    const rejected = await admin.providers.test('local-openai');
    expect(rejected.error?.code).toBe('PROVIDER_AUTH_FAILED');
    const before = (await admin.secrets.get('OPENAI_API_KEY')).fingerprint;
    const rotated = await admin.transport.call(routes.rotateSecret, {
      params: { name: 'OPENAI_API_KEY' },
      body: { value: rotatedProviderKey },
      idempotencyKey: 'rotate-openai-secret',
    });
    expect(rotated.data.fingerprint).not.toBe(before);
    const accepted = await admin.providers.test('local-openai');
    expect(accepted).toMatchObject({ ok: true, models: ['upstream-model'] });
    const unreachable = await admin.providers.test('unreachable');
    expect(unreachable.ok).toBe(false);
    expect(unreachable.error?.code).toBe('PROVIDER_UNREACHABLE');
    // The search below would be meaningless if Runyard never decrypted anything: it did, and sent it.
    expect(upstream!.authorizations).toEqual([`Bearer ${providerKey}`, `Bearer ${rotatedProviderKey}`]);

    // An agent whose environment references a secret, in two versions, promoted.
    await admin.agents.create({
      slug: 'support',
      name: 'Support',
      model: 'local-openai/upstream-model',
      env: { TOOL_TOKEN: { secret: 'TOOL_TOKEN' }, REGION: 'eu' },
    });
    await admin.agents.update('support', { instructions: 'Be brief.' });
    await admin.agents.promote('support', { version: 2, environment: 'production' });

    // Tools with every kind of credential, invoked directly and called by a run's model.
    await admin.secrets.create({ name: 'TOOL_API_KEY', value: toolCredentials.apiKey });
    await admin.secrets.create({ name: 'TOOL_BEARER', value: toolCredentials.bearerToken });
    await admin.secrets.create({ name: 'TOOL_BASIC_PASSWORD', value: toolCredentials.basicPassword });
    await admin.secrets.create({ name: 'TOOL_CLIENT_SECRET', value: toolCredentials.clientSecret });
    const toolAuths: Record<string, Pick<CreateTool, 'path' | 'auth'>> = {
      'leak-api-key': {
        path: '/api-key/check',
        auth: { type: 'apiKey', in: 'query', name: 'api_key', value: { secret: 'TOOL_API_KEY' } },
      },
      'leak-bearer': { path: '/bearer/check', auth: { type: 'bearer', token: { secret: 'TOOL_BEARER' } } },
      'leak-basic': {
        path: '/basic/check',
        auth: { type: 'basic', username: 'runyard', password: { secret: 'TOOL_BASIC_PASSWORD' } },
      },
      'leak-oauth': {
        path: '/oauth/check',
        auth: {
          type: 'oauth2',
          tokenUrl: `${toolServer().url}/oauth/token`,
          clientId: 'runyard-client',
          clientSecret: { secret: 'TOOL_CLIENT_SECRET' },
          scopes: ['read'],
        },
      },
    };
    // Egress is denied by default: the tools' loopback API (token endpoint included) is allowed.
    await admin.policies.create({
      name: 'tool-api',
      rules: [{ effect: 'allow', resource: `${toolServer().url}/**`, operations: ['*'] }],
    });
    for (const [name, fields] of Object.entries(toolAuths)) {
      await admin.tools.create({ name, kind: 'http', baseUrl: toolServer().url, ...fields });
      await admin.tools.get(name);
      expect((await admin.tools.invoke(name, {}, { policies: ['tool-api'] })).output, name).toMatchObject({
        status: 200,
      });
    }
    await admin.agents.create({
      slug: 'tool-user',
      name: 'Tool user',
      model: 'playground/playground',
      tools: Object.keys(toolAuths),
      policies: ['tool-api'],
    });
    const toolRun = await admin.runs.create('tool-user', {
      input: Object.keys(toolAuths)
        .map((name) => `use ${name} {}`)
        .join(' '),
    });
    expect(toolRun.status).toBe('succeeded');
    const toolResults = (await admin.runs.events(toolRun.id)).filter((event) => event.type === 'tool-result');
    expect(toolResults.map((event) => event.type === 'tool-result' && event.isError)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    await admin.threads.messages(toolRun.threadId ?? '');
    // Every outbound request was decided and audited (the URL without its query, which holds a key).
    expect((await admin.audit.list({ runId: toolRun.id, limit: 200 })).data.length).toBeGreaterThanOrEqual(4);
    // The search below is meaningful: the tools' API received every credential, twice, and a token.
    const toolRequests = toolServer().requests;
    expect(
      toolRequests.filter((request) => request.query.api_key?.[0] === toolCredentials.apiKey),
    ).toHaveLength(2);
    expect(
      toolRequests.filter(
        (request) => request.headers.authorization === `Bearer ${toolCredentials.bearerToken}`,
      ),
    ).toHaveLength(2);
    expect(
      toolRequests.filter(
        (request) => request.path === '/basic/check' && request.headers.authorization !== undefined,
      ),
    ).toHaveLength(2);
    expect(toolServer().issuedTokens).toHaveLength(1);
    expect(
      toolRequests.filter(
        (request) => request.headers.authorization === `Bearer ${toolServer().issuedTokens[0]}`,
      ),
    ).toHaveLength(2);

    // A large answer that quotes the bearer token: the model sees its start, a run artifact keeps
    // the whole of it, and both are scrubbed.
    await admin.tools.create({
      name: 'leak-big',
      kind: 'http',
      baseUrl: toolServer().url,
      path: '/bearer/big?pad=20000',
      maxResponseBytes: 1000,
      auth: { type: 'bearer', token: { secret: 'TOOL_BEARER' } },
    });
    await admin.agents.create({
      slug: 'big-user',
      name: 'Big user',
      model: 'playground/playground',
      tools: ['leak-big'],
      policies: ['tool-api'],
    });
    const bigRun = await admin.runs.create('big-user', { input: 'use leak-big {}', stateless: true });
    expect(bigRun.status).toBe('succeeded');
    expect(toolServer().requests.at(-1)?.headers.authorization).toBe(`Bearer ${toolCredentials.bearerToken}`);
    const [artifact] = await admin.runs.artifacts(bigRun.id);
    const artifactText = Buffer.from((await admin.runs.artifact(bigRun.id, artifact!.id)).bytes).toString(
      'utf8',
    );
    expect(artifactText).toContain('"authorization":"Bearer [redacted]"');
    expect(artifactText).toContain('p'.repeat(20_000));
    await admin.runs.events(bigRun.id);

    // An API key, created idempotently, replayed, and used.
    const issued = await admin.apiKeys.create(
      { name: 'app', scopes: ['read', 'write'] },
      { idempotencyKey: 'create-app-key' },
    );
    const issuedAgain = await admin.apiKeys.create(
      { name: 'app', scopes: ['read', 'write'] },
      { idempotencyKey: 'create-app-key' },
    );
    expect(issuedAgain.key).toBe(issued.key);
    const app = client(issued.key);

    // Read everything back, with both keys.
    for (const reader of [admin, app]) {
      await reader.secrets.list();
      for (const name of ['OPENAI_API_KEY', 'TOOL_TOKEN']) await reader.secrets.get(name);
      await reader.providers.list();
      for (const name of ['local-openai', 'unreachable', 'playground']) await reader.providers.get(name);
      await reader.agents.list();
      await reader.agents.get('support');
      await reader.agents.versions('support');
      await reader.agents.version('support', 1);
      await reader.agents.diff('support', 1, 2);
    }
    await admin.apiKeys.list();
    await admin.apiKeys.get(issued.id);
    await admin.workspaces.list();

    // Everything the server answered, wrote to its log, and stored.
    const responses = responsePlaces(recorded);
    const logs = logPlaces(server);
    const stored = await storedPlaces(server);

    // The search can fail: what should be there is found in every kind of place.
    expect(responses.length).toBeGreaterThan(40);
    expect(logs.length, 'trace logging wrote lines').toBeGreaterThan(40);
    expect(placesHolding(responses, 'OPENAI_API_KEY')).not.toEqual([]);
    expect(placesHolding(responses, created.fingerprint)).not.toEqual([]);
    expect(placesHolding(logs, '/v1/secrets/OPENAI_API_KEY')).not.toEqual([]);
    expect(placesHolding(logs, '/v1/providers/local-openai/test')).not.toEqual([]);
    expect(placesHolding(stored, 'OPENAI_API_KEY')).not.toEqual([]);
    expect(placesHolding(stored, rotated.data.fingerprint)).not.toEqual([]);
    expect(placesHolding(stored, issued.prefix)).not.toEqual([]);
    // The artifact's bytes are searched where they are stored, and in its download (on SQLite the
    // 20 000 bytes span overflow pages: a shorter run of them is found whole in one page).
    expect(placesHolding(stored, 'p'.repeat(1000))).not.toEqual([]);
    expect(placesHolding(responses, 'p'.repeat(20_000))).not.toEqual([]);

    const everywhere = [...responses, ...logs, ...stored];
    for (const plaintext of [...plaintexts, ...toolServer().issuedTokens]) {
      expect(placesHolding(everywhere, plaintext), `where ${plaintext} appears`).toEqual([]);
    }
    // The admin key is only ever sent, never answered, logged or stored in the clear.
    expect(placesHolding(everywhere, testBootstrapKey), 'where the admin key appears').toEqual([]);
    // The issued key is in its create response and that response's replay, and nowhere else.
    expect(placesHolding(everywhere, issued.key), 'where the issued API key appears').toEqual(
      responses
        .filter((_place, index) => {
          const response = recorded[index]!;
          return response.method === 'POST' && response.pathname === '/v1/api-keys';
        })
        .map((place) => place.name),
    );
    expect(placesHolding(responses, issued.key)).toHaveLength(2);

    if (backend === 'sqlite') {
      // Closing checkpoints the write-ahead log into the database file: search what is left on disk too.
      await server.stop();
      const onDisk = filesUnder(server.backend.dataDir);
      expect(placesHolding(onDisk, 'OPENAI_API_KEY')).toContain('file runyard.db');
      for (const plaintext of [...plaintexts, ...toolServer().issuedTokens, issued.key, testBootstrapKey]) {
        expect(placesHolding(onDisk, plaintext), `where ${plaintext} appears after close`).toEqual([]);
      }
    }
  });
});
