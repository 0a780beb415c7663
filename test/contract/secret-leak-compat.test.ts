import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, testBootstrapKey, type TestServer } from '../support/server.ts';
import { useToolServer, type ToolServerCredentials } from '../support/tool-server.ts';
import { eventually, startReceiver } from '../e2e/compat-make-support.ts';
import {
  compatKey,
  compatKeys,
  compatOperation,
  compatPath,
  expectCoversCompatCatalogue,
  surfaceKeyHeaders,
} from './compat-contract.ts';
import { send, type RawResponse } from './contract-http.ts';
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

/**
 * Secret leaks on the compat surfaces: secrets planted as canaries (through /v1 secrets, since no
 * compat surface takes a secret's value: they name secrets by reference), then every compat
 * operation driven with the request bodies that carry those references (provider and tool
 * credentials, agent env, Make's callback secret derived from the caller's key) and with values a
 * client might paste inline or send malformed. Every compat answer (headers and body), every log
 * line, every file under the data dir and every database row is then searched for the canaries.
 */

interface Context {
  toolUrl: string;
  upstreamUrl: string;
  receiverUrl: string;
  playgroundNumber: number;
  /** Ids learnt from earlier answers (Make agent uuid, thread and run ids). */
  ids: Record<string, string>;
}

interface Step {
  params?: (context: Context) => Record<string, string>;
  query?: Record<string, string>;
  body?: (context: Context) => unknown;
  /** Sent verbatim as application/json (malformed on purpose). */
  rawBody?: string;
  status: number;
  /** Reads what later steps need from the answer, or waits for what it started. */
  after?: (response: RawResponse, context: Context) => void | Promise<void>;
}

const providerKey = canary('compat-provider');
const envToken = canary('compat-env');
const inlineValue = canary('compat-inline');
const malformedValue = canary('compat-malformed');
const toolCredentials: ToolServerCredentials = {
  apiKey: canary('compat-tool-api-key'),
  bearerToken: canary('compat-tool-bearer'),
  basicUser: 'runyard',
  basicPassword: canary('compat-tool-basic'),
  clientId: 'runyard-client',
  clientSecret: canary('compat-tool-client-secret'),
};

const malformed = (field: string) => `{"name": "leaky", "${field}": "${malformedValue}" `;
const dataOf = (response: RawResponse) => (response.body as { data: Record<string, unknown> }).data;
const idOf = (response: RawResponse) => String((response.body as { id: string }).id);
const runagentsAgent = (name: string) => () => ({ namespace: 'default', name });
const apiKeyTool = (name: string, accessMode: string) => (context: Context) => ({
  name,
  spec: {
    connection: {
      baseUrl: context.toolUrl,
      authentication: {
        type: 'APIKey',
        in: 'header',
        name: 'X-API-Key',
        prefix: 'Key ',
        secretRef: 'TOOL_API_KEY',
      },
      method: 'GET',
      path: '/api-key/check',
    },
    accessMode,
  },
});

/**
 * How each compat operation is driven, in order (later steps use what earlier ones made). An
 * operation missing here fails the suite.
 */
const table: Record<string, readonly Step[]> = {
  'make.createAgent': [
    {
      query: { teamId: '1' },
      body: (context) => ({
        name: 'Leak check',
        teamId: 1,
        makeConnectionId: context.playgroundNumber,
        defaultModel: 'playground',
        systemPrompt: 'Repeat the user.',
      }),
      status: 201,
      after: (response, context) => void (context.ids.makeAgent = idOf(response)),
    },
    { query: { teamId: '1' }, rawBody: malformed('systemPrompt'), status: 400 },
  ],
  'make.listAgents': [{ query: { teamId: '1' }, status: 200 }],
  'make.getAgent': [
    { params: (context) => ({ agentId: context.ids.makeAgent! }), query: { teamId: '1' }, status: 200 },
  ],
  'make.updateAgent': [
    {
      params: (context) => ({ agentId: context.ids.makeAgent! }),
      query: { teamId: '1' },
      body: () => ({ systemPrompt: 'Repeat the user, briefly.' }),
      status: 204,
    },
  ],
  'make.runAgent': [
    {
      // Make's documented body: the run answers at once and POSTs its result, signed with the
      // secret derived from the caller's key, to the callback URL.
      params: (context) => ({ agentId: context.ids.makeAgent! }),
      query: { teamId: '1' },
      body: (context) => ({ threadId: 'customer-42', callbackUrl: context.receiverUrl }),
      status: 200,
    },
    {
      params: (context) => ({ agentId: context.ids.makeAgent! }),
      query: { teamId: '1' },
      body: () => ({ threadId: 'customer-42', messages: [{ role: 'user', content: 'hello' }] }),
      status: 200,
    },
  ],
  'make.runAgentStream': [
    {
      params: (context) => ({ agentId: context.ids.makeAgent! }),
      query: { teamId: '1' },
      body: () => ({ threadId: 'customer-42', messages: [{ role: 'user', content: 'stream it' }] }),
      status: 200,
    },
  ],
  'make.deleteAgent': [
    { params: (context) => ({ agentId: context.ids.makeAgent! }), query: { teamId: '1' }, status: 204 },
  ],

  'runagents.runStarterKit': [{ status: 201 }],
  'runagents.echo': [{ body: () => ({ text: 'hello' }), status: 200 }],
  'runagents.echoWithSlash': [{ body: () => ({ text: 'hello' }), status: 200 }],
  'runagents.createModelProvider': [
    {
      body: (context) => ({
        name: 'leak-llm',
        provider: 'vllm',
        endpoint: context.upstreamUrl,
        models: ['upstream-model'],
        auth: { secretRef: 'LLM_KEY' },
      }),
      status: 201,
    },
    // The key pasted inline beside (or instead of) the reference: refused, never echoed.
    {
      body: (context) => ({
        name: 'leak-inline',
        provider: 'vllm',
        endpoint: context.upstreamUrl,
        auth: { secretRef: 'LLM_KEY', apiKey: inlineValue },
      }),
      status: 400,
    },
    { rawBody: malformed('endpoint'), status: 400 },
  ],
  'runagents.listModelProviders': [{ status: 200 }],
  'runagents.createTool': [
    { body: apiKeyTool('leak-api-key', 'Open'), status: 201 },
    { body: apiKeyTool('leak-critical', 'Critical'), status: 201 },
    {
      body: (context) => ({
        name: 'leak-oauth',
        spec: {
          connection: {
            baseUrl: context.toolUrl,
            authentication: {
              type: 'OAuth2',
              tokenUrl: `${context.toolUrl}/oauth/token`,
              clientId: 'runyard-client',
              clientSecretRef: 'TOOL_CLIENT_SECRET',
              scopes: ['read'],
            },
            method: 'GET',
            path: '/oauth/check',
          },
        },
      }),
      status: 201,
    },
    {
      body: (context) => {
        const tool = apiKeyTool('leak-inline', 'Open')(context);
        const connection = {
          ...tool.spec.connection,
          authentication: { type: 'APIKey', value: inlineValue },
        };
        return { ...tool, spec: { ...tool.spec, connection } };
      },
      status: 400,
    },
  ],
  'runagents.listTools': [{ status: 200 }],
  'runagents.createPolicy': [
    {
      body: () => ({
        name: 'leak-approvers',
        spec: {
          rules: [],
          approvals: [{ toolIds: ['leak-critical'], approvers: ['compat-key'], defaultDuration: '1h' }],
        },
      }),
      status: 201,
    },
  ],
  'runagents.listPolicies': [{ status: 200 }],
  'runagents.deploy': [
    {
      body: () => ({
        agent_name: 'leak-tools',
        system_prompt: 'Use the tools.',
        required_tools: ['leak-api-key', 'leak-oauth'],
        env: [
          { name: 'TOKEN', secretRef: 'ENV_TOKEN' },
          { name: 'REGION', value: 'eu' },
        ],
      }),
      status: 201,
    },
    {
      body: () => ({
        agent_name: 'leak-critical',
        system_prompt: 'Use the tool.',
        required_tools: ['leak-critical'],
        policies: ['leak-approvers'],
      }),
      status: 201,
    },
    {
      body: () => ({
        agent_name: 'leak-llm',
        system_prompt: 'Answer.',
        llm_configs: [{ provider: 'leak-llm', model: 'upstream-model' }],
        env: [{ name: 'TOKEN', secretRef: 'ENV_TOKEN' }],
      }),
      status: 201,
    },
  ],
  'runagents.listAgents': [{ status: 200 }],
  'runagents.getAgent': [{ params: runagentsAgent('leak-tools'), status: 200 }],
  'runagents.createRun': [
    {
      body: () => ({ agent_id: 'leak-tools', input: 'use leak-api-key {} use leak-oauth {}', wait: true }),
      status: 201,
      after: (response, context) => {
        expect((response.body as { status: string }).status, response.text).toBe('COMPLETED');
        context.ids.toolRun = idOf(response);
      },
    },
    {
      // The provider answers 401 quoting the key it was shown: the run fails without repeating it.
      body: () => ({ agent_id: 'leak-llm', input: 'hello', wait: true }),
      status: 201,
      after: (response, context) => {
        expect((response.body as { status: string }).status, response.text).toBe('FAILED');
        context.ids.llmRun = idOf(response);
      },
    },
    ...['approvedRun', 'deniedRun'].map((name): Step => ({
      body: () => ({ agent_id: 'leak-critical', input: 'use leak-critical {}', wait: true }),
      status: 201,
      after: (response, context) => {
        expect((response.body as { status: string }).status, response.text).toBe('PAUSED_APPROVAL');
        context.ids[name] = idOf(response);
      },
    })),
  ],
  'runagents.approveRun': [
    {
      params: (context) => ({ id: context.ids.approvedRun! }),
      body: () => ({ scope: 'once' }),
      status: 200,
      after: async (_response, context) => {
        await eventually(
          () =>
            call(context, 'runagents.getRun', {
              params: () => ({ id: context.ids.approvedRun! }),
              status: 200,
            }),
          (run) => (run.body as { status: string }).status === 'COMPLETED',
        );
      },
    },
  ],
  'runagents.denyRun': [
    { params: (context) => ({ id: context.ids.deniedRun! }), body: () => ({ reason: 'no' }), status: 200 },
  ],
  'runagents.listRuns': [{ status: 200 }, { query: { status: 'FAILED' }, status: 200 }],
  'runagents.getRun': ['toolRun', 'llmRun', 'approvedRun', 'deniedRun'].map((name) => ({
    params: (context: Context) => ({ id: context.ids[name]! }),
    status: 200,
  })),
  'runagents.listRunEvents': ['toolRun', 'llmRun', 'approvedRun', 'deniedRun'].map((name) => ({
    params: (context: Context) => ({ id: context.ids[name]! }),
    status: 200,
  })),
  'runagents.deleteAgent': [{ params: runagentsAgent('leak-llm'), status: 200 }],

  'runtools.upsertAgent': [
    {
      body: () => ({
        slug: 'leak-runtools',
        model: 'playground/playground',
        systemPrompt: 'Use the tool.',
        tools: ['leak-api-key'],
        env: { TOKEN: { secret: 'ENV_TOKEN' }, REGION: 'eu' },
      }),
      status: 201,
    },
    { rawBody: malformed('systemPrompt'), status: 400 },
  ],
  'runtools.listAgents': [{ status: 200 }],
  'runtools.getAgent': [{ params: () => ({ slug: 'leak-runtools' }), status: 200 }],
  'runtools.createThread': [
    {
      body: () => ({ title: 'Leak check' }),
      status: 201,
      after: (response, context) => {
        context.ids.thread = String((dataOf(response).thread as { id: string }).id);
      },
    },
  ],
  'runtools.run': [
    {
      body: (context) => ({
        agent: 'leak-runtools',
        prompt: 'use leak-api-key {}',
        threadId: context.ids.thread,
        stream: false,
      }),
      status: 200,
    },
  ],
  'runtools.runAgent': [
    {
      params: () => ({ slug: 'leak-runtools' }),
      body: (context) => ({ prompt: 'hello', threadId: context.ids.thread, stream: true }),
      status: 200,
    },
  ],
  'runtools.listThreads': [{ status: 200 }],
  'runtools.getThread': [{ params: (context) => ({ threadId: context.ids.thread! }), status: 200 }],
  'runtools.listThreadEvents': [{ params: (context) => ({ threadId: context.ids.thread! }), status: 200 }],
  'runtools.updateThread': [
    {
      params: (context) => ({ threadId: context.ids.thread! }),
      body: () => ({ title: 'Renamed' }),
      status: 200,
    },
  ],
  'runtools.deleteThread': [{ params: (context) => ({ threadId: context.ids.thread! }), status: 200 }],
  'runtools.deleteAgent': [{ params: () => ({ slug: 'leak-runtools' }), status: 200 }],
};

/** Set per backend: the server, the key the compat calls use, and where their answers go. */
let active: { server: TestServer; key: string; recorded: RecordedResponse[] } | undefined;

/** One compat request with the surface's documented key style; its answer is recorded. */
async function call(context: Context, key: string, step: Step): Promise<RawResponse> {
  if (active === undefined) throw new Error('no server');
  const operation = compatOperation(key);
  const query = new URLSearchParams(step.query ?? {}).toString();
  const pathname = compatPath(operation, step.params?.(context) ?? {});
  const body = step.body?.(context);
  const response = await send(active.server.url, {
    method: operation.method,
    path: `${pathname}${query === '' ? '' : `?${query}`}`,
    headers: {
      ...surfaceKeyHeaders(operation, active.key),
      ...(step.rawBody !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { json: body }),
    ...(step.rawBody !== undefined && { rawBody: step.rawBody }),
  });
  active.recorded.push(recordedResponse(operation.method, pathname, response, response.text));
  expect(response.status, `${key}: ${response.text.slice(0, 500)}`).toBe(step.status);
  return response;
}

describe.each(backendNames)('no secret leaks on the compat surfaces on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let upstream: ModelUpstream | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const recorded: RecordedResponse[] = [];
  const toolServer = useToolServer(toolCredentials);
  const covered: string[] = [];

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend, { RUNYARD_LOG_LEVEL: 'trace' });
    upstream = await startModelUpstream();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    active = undefined;
    await receiver?.close();
    await upstream?.close();
    await server?.close();
  });

  it.skipIf(skip)('the table covers exactly the compat operations of the catalogue', () => {
    expectCoversCompatCatalogue(table, 'secret-leak');
    for (const key of compatKeys) expect(table[key]?.length, key).toBeGreaterThan(0);
  });

  it.skipIf(skip)('no compat answer, log line, file or row holds a secret (operations listed)', async () => {
    const admin = server.admin;
    await admin.secrets.create({ name: 'LLM_KEY', value: providerKey });
    await admin.secrets.create({ name: 'ENV_TOKEN', value: envToken });
    await admin.secrets.create({ name: 'TOOL_API_KEY', value: toolCredentials.apiKey });
    await admin.secrets.create({ name: 'TOOL_CLIENT_SECRET', value: toolCredentials.clientSecret });
    // The compat calls use an issued key: it signs Make's callbacks (the secret derives from it).
    const key = (await admin.apiKeys.create({ name: 'compat-key', scopes: ['admin'] })).key;
    const callbackSecret = createHmac('sha256', key).update('runyard/callback-secret').digest('hex');
    active = { server, key, recorded };
    const context: Context = {
      toolUrl: toolServer().url,
      upstreamUrl: upstream!.url,
      receiverUrl: receiver.url,
      playgroundNumber: (await admin.providers.get('playground')).number,
      ids: {},
    };

    for (const [operationKey, steps] of Object.entries(table)) {
      for (const step of steps) {
        const response = await call(context, operationKey, step);
        await step.after?.(response, context);
      }
      covered.push(operationKey);
    }
    // Make's callback arrived, signed with the secret derived from the key.
    await eventually(
      () => receiver.received.length,
      (count) => count > 0,
    );
    const [callback] = receiver.received;
    const [, seconds, digest] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(
      String(callback?.headers['x-runyard-signature']),
    )!;
    expect(createHmac('sha256', callbackSecret).update(`${seconds}.${callback?.body}`).digest('hex')).toBe(
      digest,
    );

    // The search is meaningful: Runyard decrypted every credential and sent it where it belongs.
    expect(upstream!.authorizations).toContain(`Bearer ${providerKey}`);
    const toolRequests = toolServer().requests;
    // The tools run and the approved critical run, each with the key.
    expect(
      toolRequests.filter((request) => request.headers['x-api-key'] === `Key ${toolCredentials.apiKey}`),
    ).toHaveLength(2);
    expect(toolServer().issuedTokens).toHaveLength(1);

    const responses = responsePlaces(recorded);
    const logs = logPlaces(server);
    const stored = await storedPlaces(server);
    // The search can fail: what should be there is found in every kind of place.
    expect(placesHolding(responses, 'LLM_KEY')).not.toEqual([]);
    expect(placesHolding(responses, 'TOOL_CLIENT_SECRET')).not.toEqual([]);
    expect(placesHolding(responses, 'ENV_TOKEN')).not.toEqual([]);
    expect(placesHolding(logs, '/compat/runagents/api/model-providers')).not.toEqual([]);
    expect(placesHolding(stored, 'ENV_TOKEN')).not.toEqual([]);
    expect(placesHolding(stored, 'TOOL_CLIENT_SECRET')).not.toEqual([]);

    const canaries = [
      providerKey,
      envToken,
      inlineValue,
      malformedValue,
      toolCredentials.apiKey,
      toolCredentials.clientSecret,
      callbackSecret,
      key,
      testBootstrapKey,
      ...toolServer().issuedTokens,
    ];
    const everywhere = [...responses, ...logs, ...stored];
    for (const plaintext of canaries) {
      expect(placesHolding(everywhere, plaintext), `where ${plaintext} appears`).toEqual([]);
    }
    if (backend === 'sqlite') {
      // Closing checkpoints the write-ahead log into the database file: search what is left on disk.
      await server.stop();
      const onDisk = filesUnder(server.backend.dataDir);
      expect(placesHolding(onDisk, 'ENV_TOKEN')).toContain('file runyard.db');
      for (const plaintext of canaries) {
        expect(placesHolding(onDisk, plaintext), `where ${plaintext} appears after close`).toEqual([]);
      }
    }

    console.log(`secret-leak covers the compat operations: ${covered.join(', ')}`);
    expect([...covered].sort()).toEqual([...compatKeys].sort());
    expect(covered.map((operationKey) => compatKey(compatOperation(operationKey)))).toEqual(covered);
  });
});
