import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes, type ErrorCode, type RouteDefinition } from '@runyard/protocol';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { unusedCredentials, useToolServer } from '../support/tool-server.ts';
import {
  expectCatalogueError,
  keyIdOf,
  send,
  snapshotWorkspace,
  type RawResponse,
  type WorkspaceSnapshot,
} from './contract-http.ts';

/**
 * Tenancy: an admin key of workspace B walks every route of the catalogue against workspace A's
 * resources. Whatever addresses A's resources answers 404 exactly like a resource that does not
 * exist, lists never show A's items, references to A's resources are unknown, creations land in B,
 * and A is unchanged afterwards.
 */

interface Fixtures {
  workspaceA: string;
  workspaceB: string;
  adminKeyId: string;
  apiKeyId: string;
  secretId: string;
  secretName: string;
  providerId: string;
  providerName: string;
  playgroundIdA: string;
  agentId: string;
  agentSlug: string;
  agentEtag: string;
  otherAgentId: string;
  otherAgentSlug: string;
  /** The starter kit's `demo`, created in A by the first start. */
  demoAgentId: string;
  threadId: string;
  runId: string;
  toolId: string;
  toolName: string;
  policyId: string;
  policyName: string;
  /** A's audit entry of a direct invoke of echo. */
  auditId: string;
  /** The artifact A's run kept: the whole of a tool answer too large for the model. */
  artifactId: string;
  /** A run of A paused for an approval, and that approval. */
  pausedRunId: string;
  approvalId: string;
  approverAgentId: string;
  approvalPolicyId: string;
}

type Expectation =
  /** An error answer (404 for everything that addresses A's resources). */
  | { outcome: 'error'; code: ErrorCode; field?: string }
  /** A 200 list: none of these ids in it, every item of B. */
  | { outcome: 'list-excludes'; foreignIds: (a: Fixtures) => string[] }
  /** Created in B (run after every other case): never A's resource. */
  | { outcome: 'created-in-own-workspace'; status: 201; foreignId: (a: Fixtures) => string };

interface Exercise {
  /** Path parameters; every `{param}` of the route's path. */
  params?: (a: Fixtures) => Record<string, string>;
  query?: (a: Fixtures) => Record<string, string>;
  body?: (a: Fixtures) => unknown;
  headers?: (a: Fixtures) => Record<string, string>;
  expect: Expectation;
}

const notFound: Expectation = { outcome: 'error', code: 'NOT_FOUND' };
const agentById = (a: Fixtures) => ({ idOrSlug: a.agentId });
const agentBySlug = (a: Fixtures) => ({ idOrSlug: a.agentSlug });
const staleEtag = (a: Fixtures) => ({ 'if-match': a.agentEtag });
const threadOfA = (a: Fixtures) => ({ threadId: a.threadId });
const runOfA = (a: Fixtures) => ({ runId: a.runId });
const toolOfA = (a: Fixtures) => ({ name: a.toolName });
const policyOfA = (a: Fixtures) => ({ name: a.policyName });
/** An agent of B's own (created with B's key before the walk). */
const ownAgent = 'b-runner';

/** How each operation is exercised with B's key. A route missing here fails the suite. */
const table: Record<string, readonly Exercise[]> = {
  createWorkspace: [
    // Only the instance administrator creates workspaces; B's admin key is not it.
    { body: () => ({ name: 'from-b' }), expect: { outcome: 'error', code: 'PERMISSION_DENIED' } },
  ],
  listWorkspaces: [{ expect: { outcome: 'list-excludes', foreignIds: (a) => [a.workspaceA] } }],
  getWorkspace: [{ params: (a) => ({ workspaceId: a.workspaceA }), expect: notFound }],
  updateWorkspace: [
    { params: (a) => ({ workspaceId: a.workspaceA }), body: () => ({ teamId: 4242 }), expect: notFound },
    { params: (a) => ({ workspaceId: a.workspaceA }), body: () => ({}), expect: notFound },
    {
      params: (a) => ({ workspaceId: a.workspaceA }),
      body: () => ({ defaultModel: 'playground/playground' }),
      expect: notFound,
    },
  ],

  createApiKey: [
    { body: (a) => ({ name: 'into-a', scopes: ['admin'], workspaceId: a.workspaceA }), expect: notFound },
    {
      body: () => ({ name: 'b-own', scopes: ['read'] }),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.apiKeyId },
    },
  ],
  listApiKeys: [
    { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.adminKeyId, a.apiKeyId] } },
    { query: () => ({ limit: '1', cursor: 'key_zzzzzzzzzzzzzzzzzzzzzzzzzz' }), ...listExcludingKeys() },
  ],
  getApiKey: [
    { params: (a) => ({ keyId: a.apiKeyId }), expect: notFound },
    { params: (a) => ({ keyId: a.adminKeyId }), expect: notFound },
  ],
  revokeApiKey: [
    { params: (a) => ({ keyId: a.apiKeyId }), expect: notFound },
    { params: (a) => ({ keyId: a.adminKeyId }), expect: notFound },
  ],

  createSecret: [
    {
      body: (a) => ({ name: a.secretName, value: 'b-value' }),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.secretId },
    },
  ],
  listSecrets: [{ expect: { outcome: 'list-excludes', foreignIds: (a) => [a.secretId] } }],
  getSecret: [{ params: (a) => ({ name: a.secretName }), expect: notFound }],
  rotateSecret: [
    { params: (a) => ({ name: a.secretName }), body: () => ({ value: 'stolen' }), expect: notFound },
  ],
  deleteSecret: [{ params: (a) => ({ name: a.secretName }), expect: notFound }],

  createProvider: [
    {
      // A reference to A's secret is a reference to nothing.
      body: (a) => ({ name: 'b-provider', kind: 'openai', apiKey: { secret: a.secretName } }),
      expect: { outcome: 'error', code: 'VALIDATION_FAILED', field: 'apiKey.secret' },
    },
    {
      body: (a) => ({ name: a.providerName, kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1' }),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.providerId },
    },
  ],
  listProviders: [
    { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.providerId, a.playgroundIdA] } },
  ],
  getProvider: [{ params: (a) => ({ name: a.providerName }), expect: notFound }],
  updateProvider: [
    { params: (a) => ({ name: a.providerName }), body: () => ({ models: ['stolen'] }), expect: notFound },
    { params: (a) => ({ name: a.providerName }), body: () => ({ apiKey: null }), expect: notFound },
    { params: (a) => ({ name: a.providerName }), body: () => ({ number: 77 }), expect: notFound },
  ],
  deleteProvider: [{ params: (a) => ({ name: a.providerName }), expect: notFound }],
  testProvider: [
    { params: (a) => ({ name: a.providerName }), body: () => ({}), expect: notFound },
    { params: (a) => ({ name: a.providerName }), expect: notFound },
  ],

  createAgent: [
    {
      body: (a) => ({ slug: 'b-agent', name: 'B', model: `${a.providerName}/m1` }),
      expect: { outcome: 'error', code: 'VALIDATION_FAILED', field: 'model' },
    },
    {
      body: (a) => ({
        slug: 'b-agent',
        name: 'B',
        model: 'playground/playground',
        env: { TOKEN: { secret: a.secretName } },
      }),
      expect: { outcome: 'error', code: 'VALIDATION_FAILED', field: 'env.TOKEN.secret' },
    },
    {
      // A's tools are unknown to B's agents.
      body: (a) => ({
        slug: 'b-agent',
        name: 'B',
        model: 'playground/playground',
        tools: ['echo', a.toolName],
      }),
      expect: { outcome: 'error', code: 'VALIDATION_FAILED', field: 'tools.1' },
    },
    {
      // A's policies are unknown to B's agents.
      body: (a) => ({ slug: 'b-agent', name: 'B', model: 'playground/playground', policies: [a.policyName] }),
      expect: { outcome: 'error', code: 'VALIDATION_FAILED', field: 'policies.0' },
    },
    {
      body: (a) => ({ slug: a.otherAgentSlug, name: 'B', model: 'playground/playground' }),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.otherAgentId },
    },
  ],
  listAgents: [
    { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.agentId, a.otherAgentId, a.demoAgentId] } },
    { query: () => ({ tag: 'alpha' }), ...listExcludingAgents() },
    { query: () => ({ category: 'support' }), ...listExcludingAgents() },
    { query: () => ({ search: 'fixture' }), ...listExcludingAgents() },
    { query: () => ({ status: 'active', limit: '1' }), ...listExcludingAgents() },
    { query: () => ({ cursor: 'agt_zzzzzzzzzzzzzzzzzzzzzzzzzz' }), ...listExcludingAgents() },
  ],
  getAgent: [
    { params: agentById, expect: notFound },
    { params: agentBySlug, expect: notFound },
  ],
  updateAgent: [
    { params: agentById, body: () => ({ instructions: 'stolen' }), expect: notFound },
    { params: agentBySlug, body: () => ({ name: 'Stolen' }), expect: notFound },
    { params: agentBySlug, body: () => ({ tags: [] }), headers: staleEtag, expect: notFound },
  ],
  upsertAgent: [
    {
      // B has no agent with this slug: If-Match on a missing agent fails, whatever A holds.
      params: agentBySlugParam,
      body: () => ({ name: 'Stolen', model: 'playground/playground' }),
      headers: staleEtag,
      expect: { outcome: 'error', code: 'PRECONDITION_FAILED' },
    },
    {
      params: () => ({ slug: 'b-upsert' }),
      body: (a) => ({ name: 'B', model: `${a.providerName}/m1` }),
      expect: { outcome: 'error', code: 'VALIDATION_FAILED', field: 'model' },
    },
    {
      params: agentBySlugParam,
      body: () => ({ name: 'B', model: 'playground/playground', instructions: 'mine' }),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.agentId },
    },
  ],
  deleteAgent: [
    { params: agentById, expect: notFound },
    { params: agentBySlug, expect: notFound },
    { params: agentById, headers: staleEtag, expect: notFound },
  ],
  listAgentVersions: [
    { params: agentById, expect: notFound },
    { params: agentBySlug, expect: notFound },
  ],
  getAgentVersion: [
    { params: (a) => ({ idOrSlug: a.agentId, version: '1' }), expect: notFound },
    { params: (a) => ({ idOrSlug: a.agentSlug, version: '2' }), expect: notFound },
  ],
  diffAgentVersions: [
    { params: agentById, query: () => ({ from: '1', to: '2' }), expect: notFound },
    { params: agentBySlug, query: () => ({ from: '2', to: '1' }), expect: notFound },
  ],
  promoteAgent: [
    {
      params: agentById,
      body: () => ({ version: 1, environment: 'production' }),
      expect: notFound,
    },
    {
      params: agentBySlug,
      body: () => ({ version: 2, environment: 'staging' }),
      expect: notFound,
    },
  ],

  createThread: [
    {
      body: () => ({ title: 'B thread' }),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.threadId },
    },
  ],
  listThreads: [{ expect: { outcome: 'list-excludes', foreignIds: (a) => [a.threadId] } }],
  getThread: [{ params: threadOfA, expect: notFound }],
  updateThread: [{ params: threadOfA, body: () => ({ title: 'Stolen' }), expect: notFound }],
  deleteThread: [{ params: threadOfA, expect: notFound }],
  listThreadMessages: [
    { params: threadOfA, expect: notFound },
    { params: threadOfA, query: () => ({ order: 'desc' }), expect: notFound },
  ],

  createAgentRun: [
    { params: agentById, body: () => ({ input: 'hello' }), expect: notFound },
    { params: agentBySlug, body: () => ({ input: 'hello', mode: 'background' }), expect: notFound },
    // B's own agent, continuing A's thread: the thread is unknown.
    {
      params: () => ({ idOrSlug: ownAgent }),
      body: (a) => ({ input: 'hello', threadId: a.threadId }),
      expect: notFound,
    },
  ],
  createRun: [
    { body: (a) => ({ agent: a.agentSlug, input: 'hello' }), expect: notFound },
    { body: (a) => ({ agent: a.otherAgentId, input: 'hello', mode: 'background' }), expect: notFound },
    { body: (a) => ({ agent: ownAgent, input: 'hello', threadId: a.threadId }), expect: notFound },
  ],
  listRuns: [
    { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.runId] } },
    { query: (a) => ({ agent: a.otherAgentSlug }), ...listExcludingRuns() },
    { query: (a) => ({ agent: a.otherAgentId }), ...listExcludingRuns() },
    { query: (a) => ({ thread: a.threadId }), ...listExcludingRuns() },
    { query: () => ({ status: 'succeeded' }), ...listExcludingRuns() },
  ],
  getRun: [{ params: runOfA, expect: notFound }],
  cancelRun: [
    { params: runOfA, body: () => ({}), expect: notFound },
    { params: runOfA, expect: notFound },
  ],
  listRunEvents: [
    { params: runOfA, expect: notFound },
    { params: runOfA, query: () => ({ after: '1' }), expect: notFound },
  ],
  streamRun: [
    { params: runOfA, expect: notFound },
    {
      params: runOfA,
      headers: () => ({ 'last-event-id': '1', accept: 'text/event-stream' }),
      expect: notFound,
    },
  ],
  listRunDeliveries: [{ params: runOfA, expect: notFound }],
  listRunArtifacts: [{ params: runOfA, expect: notFound }],
  getRunArtifact: [{ params: (a) => ({ runId: a.runId, artifactId: a.artifactId }), expect: notFound }],

  createTool: [
    {
      // A reference to A's secret is a reference to nothing.
      body: (a) => ({
        name: 'b-tool',
        kind: 'http',
        baseUrl: 'http://127.0.0.1:9',
        auth: { type: 'bearer', token: { secret: a.secretName } },
      }),
      expect: { outcome: 'error', code: 'VALIDATION_FAILED', field: 'auth.token.secret' },
    },
    {
      body: (a) => ({ name: a.toolName, kind: 'http', baseUrl: 'http://127.0.0.1:9' }),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.toolId },
    },
  ],
  listTools: [
    { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.toolId] } },
    {
      query: () => ({ limit: '1', cursor: 'current_time' }),
      expect: { outcome: 'list-excludes', foreignIds: (a) => [a.toolId] },
    },
  ],
  getTool: [{ params: toolOfA, expect: notFound }],
  updateTool: [
    { params: toolOfA, body: () => ({ description: 'stolen' }), expect: notFound },
    { params: toolOfA, body: () => ({ auth: { type: 'none' } }), expect: notFound },
  ],
  deleteTool: [{ params: toolOfA, expect: notFound }],
  listToolVersions: [{ params: toolOfA, expect: notFound }],
  invokeTool: [
    { params: toolOfA, body: () => ({ input: {} }), expect: notFound },
    {
      // A built-in B may call, under a policy of A's: unknown, and echo does not run.
      params: () => ({ name: 'echo' }),
      body: (a) => ({ input: { text: 'x' }, policies: [a.policyName] }),
      expect: { outcome: 'error', code: 'VALIDATION_FAILED', field: 'policies.0' },
    },
  ],
  refreshTool: [{ params: toolOfA, body: () => ({}), expect: notFound }],

  createPolicy: [
    {
      body: (a) => ({ name: a.policyName, rules: [] }),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.policyId },
    },
  ],
  listPolicies: [{ expect: { outcome: 'list-excludes', foreignIds: (a) => [a.policyId] } }],
  getPolicy: [{ params: policyOfA, expect: notFound }],
  updatePolicy: [
    {
      params: policyOfA,
      body: () => ({ rules: [{ effect: 'allow', resource: 'tool:*' }] }),
      expect: notFound,
    },
  ],
  deletePolicy: [{ params: policyOfA, expect: notFound }],
  listAudit: [
    { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.auditId] } },
    {
      query: (a) => ({ agent: a.otherAgentSlug }),
      expect: { outcome: 'list-excludes', foreignIds: (a) => [a.auditId] },
    },
    {
      query: (a) => ({ runId: a.runId }),
      expect: { outcome: 'list-excludes', foreignIds: (a) => [a.auditId] },
    },
  ],

  listApprovals: [
    { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.approvalId] } },
    {
      query: (a) => ({ runId: a.pausedRunId, status: 'pending' }),
      expect: { outcome: 'list-excludes', foreignIds: (a) => [a.approvalId] },
    },
  ],
  getApproval: [{ params: (a) => ({ approvalId: a.approvalId }), expect: notFound }],
  approveApproval: [
    { params: (a) => ({ approvalId: a.approvalId }), body: () => ({ scope: 'window' }), expect: notFound },
  ],
  denyApproval: [{ params: (a) => ({ approvalId: a.approvalId }), body: () => ({}), expect: notFound }],
  submitToolOutputs: [
    {
      params: (a) => ({ runId: a.pausedRunId }),
      body: () => ({ outputs: [{ toolCallId: 'call_1', output: 'stolen' }] }),
      expect: notFound,
    },
  ],

  runStarterKit: [
    {
      // B has no demo of its own yet: it gets one, and A's stays as it was.
      body: () => ({}),
      expect: { outcome: 'created-in-own-workspace', status: 201, foreignId: (a) => a.demoAgentId },
    },
  ],
};

function listExcludingRuns(): { expect: Expectation } {
  return { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.runId] } };
}

function agentBySlugParam(a: Fixtures): Record<string, string> {
  return { slug: a.agentSlug };
}

function listExcludingAgents(): { expect: Expectation } {
  return {
    expect: { outcome: 'list-excludes', foreignIds: (a) => [a.agentId, a.otherAgentId, a.demoAgentId] },
  };
}

function listExcludingKeys(): { expect: Expectation } {
  return { expect: { outcome: 'list-excludes', foreignIds: (a) => [a.adminKeyId, a.apiKeyId] } };
}

const operationIds = Object.keys(routes);

function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '');
}

function buildPath(route: RouteDefinition, exercise: Exercise, a: Fixtures): string {
  const params = exercise.params?.(a) ?? {};
  expect(Object.keys(params).sort(), `${route.operationId}: path parameters of the table`).toEqual(
    pathParameterNames(route.path).sort(),
  );
  const path = route.path.replace(/\{(\w+)\}/g, (_match, name: string) =>
    encodeURIComponent(params[name] ?? ''),
  );
  const query = new URLSearchParams(exercise.query?.(a) ?? {}).toString();
  return query === '' ? path : `${path}?${query}`;
}

describe.each(backendNames)('foreign workspace on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let fixtures: Fixtures;
  let keyB: string;
  let keyBId: string;
  let before: WorkspaceSnapshot;

  const snapshotA = () => snapshotWorkspace(server.url, server.adminKey, [fixtures.adminKeyId]);
  // A's run calls fixture-tool, whose answer (/big) is too large for the model: a run artifact.
  const toolServer = useToolServer(unusedCredentials);

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend);
    const admin = server.admin;
    const workspaceA = (await admin.workspaces.list()).data.find((workspace) => workspace.teamId === 1);
    if (workspaceA === undefined) throw new Error('no default workspace');
    // B's own default model is set from the start: its starter kit (which sets it only when unset)
    // then changes nothing that the instance administrator's snapshot of the workspaces shows.
    const workspaceB = await admin.workspaces.create({ name: 'tenant-b' });
    await admin.workspaces.update(workspaceB.id, { defaultModel: 'playground/playground' });
    const createdB = await admin.apiKeys.create({
      name: 'b-admin',
      scopes: ['admin'],
      workspaceId: workspaceB.id,
    });
    keyB = createdB.key;
    keyBId = createdB.id;
    expect(createdB.workspaceId).toBe(workspaceB.id);

    const secret = await admin.secrets.create({ name: 'fixture-secret', value: 'a-secret-value' });
    const provider = await admin.providers.create({
      name: 'fixture-provider',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
      apiKey: { secret: 'fixture-secret' },
      models: ['m1'],
    });
    await admin.agents.create({
      slug: 'fixture-agent',
      name: 'Fixture agent',
      model: 'fixture-provider/m1',
      tags: ['alpha'],
      category: 'support',
      env: { TOKEN: { secret: 'fixture-secret' } },
    });
    await admin.agents.update('fixture-agent', { instructions: 'Version two.' });
    const agent = await admin.agents.promote('fixture-agent', { version: 1, environment: 'staging' });
    expect(agent.version).toBe(2);
    const other = await admin.agents.create({
      slug: 'fixture-other',
      name: 'Fixture other',
      model: 'playground/playground',
      tags: ['alpha'],
      category: 'support',
    });
    const apiKey = await admin.apiKeys.create({ name: 'fixture-key', scopes: ['read'] });
    const tool = await admin.tools.create({
      name: 'fixture-tool',
      kind: 'http',
      baseUrl: toolServer().url,
      path: '/big',
      maxResponseBytes: 256,
      auth: { type: 'bearer', token: { secret: 'fixture-secret' } },
    });
    await admin.tools.update('fixture-tool', { timeoutMs: 5000 });
    const policy = await admin.policies.create({
      name: 'fixture-policy',
      rules: [
        { effect: 'allow', resource: 'tool:echo', operations: ['*'] },
        { effect: 'allow', resource: `${toolServer().url}/**`, operations: ['GET'] },
      ],
    });
    await admin.agents.update('fixture-other', { policies: [policy.name], tools: [tool.name] });
    await admin.tools.invoke('echo', { text: 'audited' }, { policies: [policy.name] });
    const [audited] = (await admin.audit.list()).data;
    const playgroundA = await admin.providers.get('playground');
    const demoA = await admin.agents.get('demo');
    const thread = await send(server.url, {
      method: 'POST',
      path: '/v1/threads',
      apiKey: server.adminKey,
      json: { title: 'A thread' },
    });
    expect(thread.status, thread.text).toBe(201);
    const threadId = (thread.body as { id: string }).id;
    const run = await send(server.url, {
      method: 'POST',
      path: `/v1/agents/${other.slug}/runs`,
      apiKey: server.adminKey,
      json: { input: `use ${tool.name} {}`, threadId },
    });
    expect(run.status, run.text).toBe(200);
    expect((run.body as { status: string }).status).toBe('succeeded');
    const runId = (run.body as { id: string }).id;
    const [artifact] = await admin.runs.artifacts(runId);
    if (artifact === undefined) throw new Error('the run kept no artifact');
    const approvalPolicy = await admin.policies.create({
      name: 'fixture-approval',
      rules: [{ effect: 'approval_required', resource: 'tool:echo', operations: ['*'] }],
    });
    const approver = await admin.agents.create({
      slug: 'fixture-approver',
      name: 'Fixture approver',
      model: 'playground/playground',
      tools: ['echo'],
      policies: ['fixture-approval'],
    });
    const paused = await admin.runs.create('fixture-approver', {
      input: 'use echo {"text":"x"}',
      stateless: true,
    });
    expect(paused.status).toBe('requires_action');
    const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
    if (approval === undefined) throw new Error('no approval');
    const ownRunner = await send(server.url, {
      method: 'POST',
      path: '/v1/agents',
      apiKey: keyB,
      json: { slug: ownAgent, name: 'B runner', model: 'playground/playground' },
    });
    expect(ownRunner.status, ownRunner.text).toBe(201);

    fixtures = {
      workspaceA: workspaceA.id,
      workspaceB: workspaceB.id,
      adminKeyId: await keyIdOf(server.url, server.adminKey, server.adminKey),
      apiKeyId: apiKey.id,
      secretId: secret.id,
      secretName: secret.name,
      providerId: provider.id,
      providerName: provider.name,
      playgroundIdA: playgroundA.id,
      agentId: agent.id,
      agentSlug: agent.slug,
      agentEtag: agent.etag,
      otherAgentId: other.id,
      otherAgentSlug: other.slug,
      pausedRunId: paused.id,
      approvalId: approval.id,
      approverAgentId: approver.id,
      approvalPolicyId: approvalPolicy.id,
      demoAgentId: demoA.id,
      threadId,
      runId,
      artifactId: artifact.id,
      toolId: tool.id ?? '',
      toolName: tool.name,
      policyId: policy.id,
      policyName: policy.name,
      auditId: audited?.id ?? '',
    };
    before = await snapshotA();
  });

  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('the table covers exactly the routes of the catalogue', () => {
    const uncovered = operationIds.filter((operationId) => table[operationId] === undefined);
    const stale = Object.keys(table).filter((operationId) => !operationIds.includes(operationId));
    expect(uncovered, 'routes the foreign-workspace table does not cover').toEqual([]);
    expect(stale, 'table entries for routes that no longer exist').toEqual([]);
    for (const operationId of operationIds) expect(table[operationId]?.length).toBeGreaterThan(0);
  });

  it.skipIf(skip)("B's key works in B, and A's snapshot holds every fixture", async () => {
    const own = await send(server.url, { path: `/v1/workspaces/${fixtures.workspaceB}`, apiKey: keyB });
    expect(own.status).toBe(200);
    expect((own.body as { id: string }).id).toBe(fixtures.workspaceB);
    expect(before.secrets.map((secret) => secret.id)).toEqual([fixtures.secretId]);
    expect(before.providers.map((provider) => provider.id).sort()).toEqual(
      [fixtures.providerId, fixtures.playgroundIdA].sort(),
    );
    expect(before.agents.map((agent) => agent.id).sort()).toEqual(
      [fixtures.agentId, fixtures.otherAgentId, fixtures.demoAgentId, fixtures.approverAgentId].sort(),
    );
    expect(before.agentVersions[fixtures.agentId]).toHaveLength(2);
    expect(before.apiKeys.map((key) => key.id).sort()).toEqual(
      [fixtures.adminKeyId, fixtures.apiKeyId].sort(),
    );
    expect(before.workspaces.map((workspace) => workspace.id).sort()).toEqual(
      [fixtures.workspaceA, fixtures.workspaceB].sort(),
    );
    expect(before.threads.map((thread) => thread.id)).toEqual([fixtures.threadId]);
    expect(before.threadMessages[fixtures.threadId]?.length).toBeGreaterThanOrEqual(2);
    expect(before.runs.map((run) => run.id).sort()).toEqual([fixtures.runId, fixtures.pausedRunId].sort());
    expect(before.tools.filter((tool) => tool.builtIn !== true).map((tool) => tool.name)).toEqual([
      fixtures.toolName,
    ]);
    expect(before.toolVersions[fixtures.toolName]).toHaveLength(2);
    expect(before.policies.map((policy) => policy.id).sort()).toEqual(
      [fixtures.policyId, fixtures.approvalPolicyId].sort(),
    );
    // Newest first: the paused run's approval_required decision, the run's request of fixture-tool,
    // then the direct invoke.
    expect(before.audit.at(-1)?.id).toBe(fixtures.auditId);
    expect(before.audit.at(-1)).toMatchObject({
      toolName: 'echo',
      effect: 'allow',
      policy: fixtures.policyName,
    });
    expect(before.audit.slice(1, -1)).toEqual([
      expect.objectContaining({ toolName: fixtures.toolName, effect: 'allow', runId: fixtures.runId }),
    ]);
    expect(before.audit[0]).toMatchObject({ toolName: 'echo', effect: 'approval_required' });
    expect(before.runArtifacts[fixtures.runId]).toEqual([
      expect.objectContaining({ id: fixtures.artifactId, truncated: false }),
    ]);
  });

  async function exercise(operationId: string, phase: 'probe' | 'create'): Promise<number> {
    const route = (routes as Record<string, RouteDefinition>)[operationId];
    if (route === undefined) throw new Error(`no route ${operationId}`);
    const exercises = table[operationId];
    expect(exercises, `${operationId} is missing from the foreign-workspace table`).toBeDefined();
    let ran = 0;
    for (const [index, item] of (exercises ?? []).entries()) {
      const creates = item.expect.outcome === 'created-in-own-workspace';
      if (creates !== (phase === 'create')) continue;
      ran += 1;
      const label = `${operationId} #${index}`;
      const path = buildPath(route, item, fixtures);
      const body = item.body?.(fixtures);
      const response = await send(server.url, {
        method: route.method,
        path,
        apiKey: keyB,
        ...(body !== undefined && { json: body }),
        headers: item.headers?.(fixtures) ?? {},
      });
      checkOutcome(label, item.expect, response);
    }
    return ran;
  }

  function checkOutcome(label: string, expectation: Expectation, response: RawResponse): void {
    switch (expectation.outcome) {
      case 'error': {
        const error = expectCatalogueError(response, label);
        expect(error.code, `${label}: ${response.text}`).toBe(expectation.code);
        if (expectation.field !== undefined) {
          const issues = (error.details.issues ?? []) as { path: string }[];
          expect(
            issues.map((issue) => issue.path),
            label,
          ).toContain(expectation.field);
        }
        break;
      }
      case 'list-excludes': {
        expect(response.status, `${label}: ${response.text}`).toBe(200);
        const items = (response.body as { data: Record<string, unknown>[] }).data;
        const ids = items.map((item) => item.id);
        for (const foreign of expectation.foreignIds(fixtures)) expect(ids, label).not.toContain(foreign);
        for (const item of items) {
          if ('workspaceId' in item) expect(item.workspaceId, label).toBe(fixtures.workspaceB);
        }
        expect(response.text, label).not.toContain(fixtures.workspaceA);
        break;
      }
      case 'created-in-own-workspace': {
        expect(response.status, `${label}: ${response.text}`).toBe(expectation.status);
        const created = response.body as Record<string, unknown>;
        const resource = (created.agent ?? created) as Record<string, unknown>;
        expect(typeof resource.id, label).toBe('string');
        expect(resource.id, label).not.toBe(expectation.foreignId(fixtures));
        if ('workspaceId' in resource) expect(resource.workspaceId, label).toBe(fixtures.workspaceB);
        break;
      }
    }
  }

  for (const operationId of operationIds) {
    it.skipIf(skip)(`${operationId}: A's resources are invisible and unchanged`, async () => {
      await exercise(operationId, 'probe');
      expect(await snapshotA(), `${operationId} changed workspace A`).toEqual(before);
    });
  }

  for (const operationId of operationIds) {
    const creates = (table[operationId] ?? []).some(
      (item) => item.expect.outcome === 'created-in-own-workspace',
    );
    if (!creates) continue;
    it.skipIf(skip)(`${operationId}: a same-named resource is created in B, not A`, async () => {
      expect(await exercise(operationId, 'create')).toBeGreaterThan(0);
      expect(await snapshotA(), `${operationId} changed workspace A`).toEqual(before);
    });
  }

  it.skipIf(skip)("B now holds same-named resources, and A's ids still answer 404 to B", async () => {
    const b = await snapshotWorkspace(server.url, keyB, [keyBId]);
    expect(b.secrets.map((secret) => secret.name)).toEqual([fixtures.secretName]);
    expect(b.providers.map((provider) => provider.name).sort()).toEqual(
      [fixtures.providerName, 'playground'].sort(),
    );
    expect(b.agents.map((agent) => agent.slug).sort()).toEqual(
      [fixtures.agentSlug, fixtures.otherAgentSlug, ownAgent, 'demo'].sort(),
    );
    expect(b.threads.map((thread) => thread.title)).toEqual(['B thread']);
    expect(b.runs).toEqual([]);
    expect(b.tools.filter((tool) => tool.builtIn !== true).map((tool) => tool.name)).toEqual([
      fixtures.toolName,
    ]);
    expect(b.tools.find((tool) => tool.name === fixtures.toolName)?.id).not.toBe(fixtures.toolId);
    expect(b.policies.map((policy) => policy.name)).toEqual([fixtures.policyName]);
    expect(b.policies[0]?.id).not.toBe(fixtures.policyId);
    expect(b.audit.map((entry) => entry.id)).not.toContain(fixtures.auditId);
    expect(b.workspaces.map((workspace) => workspace.id)).toEqual([fixtures.workspaceB]);
    for (const path of [
      `/v1/agents/${fixtures.agentId}`,
      `/v1/agents/${fixtures.otherAgentId}/versions`,
      `/v1/agents/${fixtures.demoAgentId}`,
      `/v1/api-keys/${fixtures.apiKeyId}`,
      `/v1/workspaces/${fixtures.workspaceA}`,
      `/v1/threads/${fixtures.threadId}`,
      `/v1/runs/${fixtures.runId}`,
    ]) {
      const response = await send(server.url, { path, apiKey: keyB });
      expect(expectCatalogueError(response, path).code).toBe('NOT_FOUND');
    }
    // B's own agent under A's slug is B's, and A's is untouched.
    const mine = await send(server.url, { path: `/v1/agents/${fixtures.agentSlug}`, apiKey: keyB });
    expect((mine.body as { id: string }).id).not.toBe(fixtures.agentId);
    expect((mine.body as { instructions: string }).instructions).toBe('mine');
    expect(await snapshotA()).toEqual(before);
  });
});
