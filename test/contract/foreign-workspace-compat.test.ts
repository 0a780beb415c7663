import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  compatKey,
  compatKeys,
  compatOperation,
  compatPath,
  expectCoversCompatCatalogue,
  expectSurfaceError,
  surfaceKeyHeaders,
} from './compat-contract.ts';
import {
  keyIdOf,
  send,
  snapshotWorkspace,
  type RawResponse,
  type WorkspaceSnapshot,
} from './contract-http.ts';

/**
 * Tenancy on the compat surfaces: an admin key of workspace B walks every compat operation against
 * workspace A's resources, as the /v1 suite walks the catalogue. Whatever addresses A's resources
 * answers 404 in the surface's shape exactly like a resource that does not exist, lists never show
 * A's items, creations land in B, and A's snapshot is unchanged afterwards.
 */

interface Fixtures {
  /** A's Make team id, and B's. */
  teamA: number;
  teamB: number;
  /** A's agent, as Make names it (a uuid) and by slug. */
  makeAgentId: string;
  agentSlug: string;
  agentName: string;
  agentId: string;
  threadId: string;
  runId: string;
  pausedRunId: string;
  toolName: string;
  providerName: string;
  policyName: string;
  /** B's own playground provider, as Make numbers it. */
  playgroundNumberB: number;
}

type Expectation =
  | { outcome: 'error'; status: number }
  /** 200, and none of A's identifiers anywhere in the answer. */
  | { outcome: 'list-excludes'; foreign: (a: Fixtures) => string[] }
  /** Created in B (run after every probe): A's snapshot stays as it was. */
  | { outcome: 'created-in-own-workspace'; status: number }
  /** A public operation: reads and writes nothing of any workspace. */
  | { outcome: 'public'; status: number };

interface Exercise {
  params?: (a: Fixtures) => Record<string, string>;
  query?: (a: Fixtures) => Record<string, string>;
  body?: (a: Fixtures) => unknown;
  headers?: (a: Fixtures) => Record<string, string>;
  expect: Expectation;
}

const notFound: Expectation = { outcome: 'error', status: 404 };
const badRequest: Expectation = { outcome: 'error', status: 400 };
const teamB = (a: Fixtures) => ({ teamId: String(a.teamB) });
const teamA = (a: Fixtures) => ({ teamId: String(a.teamA) });
const makeAgentOfA = (a: Fixtures) => ({ agentId: a.makeAgentId });
const slugOfA = (a: Fixtures) => ({ slug: a.agentSlug });
const threadOfA = (a: Fixtures) => ({ threadId: a.threadId });
const runOfA = (a: Fixtures) => ({ id: a.runId });
const agentNames = (a: Fixtures) => [a.agentId, a.agentSlug, a.agentName, a.makeAgentId];
const makeRunBody = () => ({ messages: [{ role: 'user', content: 'hello' }] });

/** How each compat operation is exercised with B's key. An operation missing here fails the suite. */
const table: Record<string, readonly Exercise[]> = {
  'make.listAgents': [
    { query: teamB, expect: { outcome: 'list-excludes', foreign: agentNames } },
    { query: teamA, expect: notFound },
  ],
  'make.createAgent': [
    {
      query: teamA,
      body: (a) => ({
        teamId: a.teamA,
        name: 'From B',
        makeConnectionId: a.playgroundNumberB,
        defaultModel: 'playground',
      }),
      expect: notFound,
    },
    {
      query: teamB,
      body: (a) => ({
        teamId: a.teamB,
        // Not A's name: its slug would take the one runtools.upsertAgent creates in B below.
        name: 'Made in B',
        makeConnectionId: a.playgroundNumberB,
        defaultModel: 'playground',
        systemPrompt: 'mine',
      }),
      expect: { outcome: 'created-in-own-workspace', status: 201 },
    },
  ],
  'make.getAgent': [
    { params: makeAgentOfA, query: teamB, expect: notFound },
    { params: makeAgentOfA, query: teamA, expect: notFound },
    { params: (a) => ({ agentId: a.agentSlug }), query: teamB, expect: notFound },
  ],
  'make.updateAgent': [
    { params: makeAgentOfA, query: teamB, body: () => ({ systemPrompt: 'stolen' }), expect: notFound },
  ],
  'make.deleteAgent': [{ params: makeAgentOfA, query: teamB, expect: notFound }],
  'make.runAgent': [
    { params: makeAgentOfA, query: teamB, body: makeRunBody, expect: notFound },
    {
      params: makeAgentOfA,
      query: teamB,
      body: (a) => ({ ...makeRunBody(), threadId: a.threadId }),
      expect: notFound,
    },
  ],
  'make.runAgentStream': [{ params: makeAgentOfA, query: teamB, body: makeRunBody, expect: notFound }],

  'runtools.upsertAgent': [
    {
      // B has no agent with A's slug: the upsert creates B's own.
      body: (a) => ({ slug: a.agentSlug, name: 'B', model: 'playground/playground', systemPrompt: 'mine' }),
      expect: { outcome: 'created-in-own-workspace', status: 201 },
    },
  ],
  'runtools.listAgents': [{ expect: { outcome: 'list-excludes', foreign: agentNames } }],
  'runtools.getAgent': [{ params: slugOfA, expect: notFound }],
  'runtools.deleteAgent': [{ params: slugOfA, expect: notFound }],
  'runtools.run': [
    { body: (a) => ({ agent: a.agentSlug, prompt: 'hello', stream: false }), expect: notFound },
    { body: (a) => ({ agent: a.agentId, prompt: 'hello', stream: false }), expect: notFound },
  ],
  'runtools.runAgent': [
    { params: slugOfA, body: () => ({ prompt: 'hello', stream: false }), expect: notFound },
  ],
  'runtools.listThreads': [{ expect: { outcome: 'list-excludes', foreign: (a) => [a.threadId] } }],
  'runtools.createThread': [
    { body: () => ({ title: 'B thread' }), expect: { outcome: 'created-in-own-workspace', status: 201 } },
  ],
  'runtools.getThread': [{ params: threadOfA, expect: notFound }],
  'runtools.listThreadEvents': [{ params: threadOfA, expect: notFound }],
  'runtools.updateThread': [{ params: threadOfA, body: () => ({ title: 'stolen' }), expect: notFound }],
  'runtools.deleteThread': [{ params: threadOfA, expect: notFound }],

  'runagents.runStarterKit': [{ expect: { outcome: 'created-in-own-workspace', status: 201 } }],
  'runagents.echo': [{ body: () => ({ text: 'x' }), expect: { outcome: 'public', status: 200 } }],
  'runagents.echoWithSlash': [{ body: () => ({ text: 'x' }), expect: { outcome: 'public', status: 200 } }],
  'runagents.listTools': [{ expect: { outcome: 'list-excludes', foreign: (a) => [a.toolName] } }],
  'runagents.createTool': [
    {
      body: (a) => ({
        name: a.toolName,
        spec: { connection: { baseUrl: 'http://127.0.0.1:9', authentication: { type: 'None' } } },
      }),
      expect: { outcome: 'created-in-own-workspace', status: 201 },
    },
  ],
  'runagents.listModelProviders': [
    { expect: { outcome: 'list-excludes', foreign: (a) => [a.providerName] } },
  ],
  'runagents.createModelProvider': [
    {
      body: (a) => ({ name: a.providerName, provider: 'playground', models: ['playground'] }),
      expect: { outcome: 'created-in-own-workspace', status: 201 },
    },
  ],
  'runagents.listPolicies': [{ expect: { outcome: 'list-excludes', foreign: (a) => [a.policyName] } }],
  'runagents.createPolicy': [
    {
      body: (a) => ({ name: a.policyName, rules: [] }),
      expect: { outcome: 'created-in-own-workspace', status: 201 },
    },
  ],
  'runagents.listAgents': [
    { expect: { outcome: 'list-excludes', foreign: agentNames } },
    // Another namespace in the header is refused, never served.
    { headers: () => ({ 'x-workspace-namespace': 'default' }), expect: { outcome: 'error', status: 403 } },
  ],
  'runagents.getAgent': [
    { params: (a) => ({ namespace: 'default', name: a.agentSlug }), expect: notFound },
    { params: (a) => ({ namespace: 'tenant-b', name: a.agentSlug }), expect: notFound },
  ],
  'runagents.deleteAgent': [
    { params: (a) => ({ namespace: 'default', name: a.agentSlug }), expect: notFound },
  ],
  'runagents.deploy': [
    {
      body: (a) => ({
        agent_name: 'from-b',
        namespace: 'default',
        system_prompt: 'x',
        required_tools: [a.toolName],
      }),
      expect: badRequest,
    },
    {
      // A's tool is unknown to B.
      body: (a) => ({ agent_name: 'from-b', system_prompt: 'x', required_tools: [a.toolName] }),
      expect: badRequest,
    },
  ],
  'runagents.createRun': [
    { body: (a) => ({ agent_id: a.agentSlug, input: 'hello' }), expect: notFound },
    { body: (a) => ({ agent_id: `default/${a.agentSlug}`, input: 'hello' }), expect: notFound },
    { body: (a) => ({ agent_id: a.agentId, input: 'hello' }), expect: notFound },
  ],
  'runagents.listRuns': [
    { expect: { outcome: 'list-excludes', foreign: (a) => [a.runId, a.pausedRunId] } },
    {
      query: (a) => ({ agent_id: a.agentSlug }),
      expect: { outcome: 'list-excludes', foreign: (a) => [a.runId] },
    },
  ],
  'runagents.getRun': [{ params: runOfA, expect: notFound }],
  'runagents.listRunEvents': [{ params: runOfA, expect: notFound }],
  'runagents.approveRun': [{ params: (a) => ({ id: a.pausedRunId }), body: () => ({}), expect: notFound }],
  'runagents.denyRun': [{ params: (a) => ({ id: a.pausedRunId }), body: () => ({}), expect: notFound }],
};

describe.each(backendNames)('foreign workspace on the compat surfaces on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let fixtures: Fixtures;
  let keyB: string;
  let adminKeyId: string;
  let before: WorkspaceSnapshot;
  const covered: string[] = [];

  const snapshotA = () => snapshotWorkspace(server.url, server.adminKey, [adminKeyId]);

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend);
    const admin = server.admin;
    const workspaceA = (await admin.workspaces.list()).data.find((workspace) => workspace.teamId === 1);
    if (workspaceA === undefined) throw new Error('no default workspace');
    // B's own default model is set from the start: the runagents starter kit (which sets it only
    // when unset) then changes nothing that the instance administrator's snapshot shows.
    const workspaceB = await admin.workspaces.create({ name: 'tenant-b' });
    await admin.workspaces.update(workspaceB.id, { defaultModel: 'playground/playground' });
    keyB = (await admin.apiKeys.create({ name: 'b-admin', scopes: ['admin'], workspaceId: workspaceB.id }))
      .key;
    adminKeyId = await keyIdOf(server.url, server.adminKey, server.adminKey);

    const agent = await admin.agents.create({
      slug: 'fixture-agent',
      name: 'Fixture agent',
      model: 'playground/playground',
    });
    await admin.providers.create({
      name: 'fixture-provider',
      kind: 'openai-compatible',
      baseUrl: 'http://127.0.0.1:9/v1',
      models: ['m1'],
    });
    await admin.tools.create({ name: 'fixture-tool', kind: 'http', baseUrl: 'http://127.0.0.1:9' });
    await admin.policies.create({
      name: 'fixture-policy',
      rules: [{ effect: 'approval_required', resource: 'tool:echo', operations: ['*'] }],
    });
    await admin.agents.create({
      slug: 'fixture-approver',
      name: 'Fixture approver',
      model: 'playground/playground',
      tools: ['echo'],
      policies: ['fixture-policy'],
    });
    const thread = await send(server.url, {
      method: 'POST',
      path: '/v1/threads',
      apiKey: server.adminKey,
      json: { title: 'A thread' },
    });
    const threadId = (thread.body as { id: string }).id;
    const run = await admin.runs.create('fixture-agent', { input: 'hello', threadId });
    expect(run.status).toBe('succeeded');
    const paused = await admin.runs.create('fixture-approver', {
      input: 'use echo {"text":"x"}',
      stateless: true,
    });
    expect(paused.status).toBe('requires_action');
    const makeAgents = await send(server.url, {
      path: '/compat/make/ai-agents/v1/agents?teamId=1',
      headers: { authorization: `Token ${server.adminKey}` },
    });
    const makeAgent = (makeAgents.body as { id: string; name: string }[]).find(
      (item) => item.name === agent.name,
    );
    if (makeAgent === undefined) throw new Error(`Make does not list A's agent: ${makeAgents.text}`);
    const playgroundB = await send(server.url, { path: '/v1/providers/playground', apiKey: keyB });
    fixtures = {
      teamA: 1,
      teamB: workspaceB.teamId,
      makeAgentId: makeAgent.id,
      agentSlug: agent.slug,
      agentName: agent.name,
      agentId: agent.id,
      threadId,
      runId: run.id,
      pausedRunId: paused.id,
      toolName: 'fixture-tool',
      providerName: 'fixture-provider',
      policyName: 'fixture-policy',
      playgroundNumberB: (playgroundB.body as { number: number }).number,
    };
    expect(fixtures.teamB).not.toBe(fixtures.teamA);
    before = await snapshotA();
  });

  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('the table covers exactly the compat operations of the catalogue', () => {
    expectCoversCompatCatalogue(table, 'foreign-workspace');
    for (const key of compatKeys) expect(table[key]?.length, key).toBeGreaterThan(0);
  });

  async function exercise(key: string, phase: 'probe' | 'create'): Promise<number> {
    const operation = compatOperation(key);
    let ran = 0;
    for (const [index, item] of (table[key] ?? []).entries()) {
      if ((item.expect.outcome === 'created-in-own-workspace') !== (phase === 'create')) continue;
      ran += 1;
      const label = `${key} #${index}`;
      const query = new URLSearchParams(item.query?.(fixtures) ?? {}).toString();
      const body = item.body?.(fixtures);
      const response = await send(server.url, {
        method: operation.method,
        path: `${compatPath(operation, item.params?.(fixtures) ?? {})}${query === '' ? '' : `?${query}`}`,
        headers: { ...surfaceKeyHeaders(operation, keyB), ...item.headers?.(fixtures) },
        ...(body !== undefined && { json: body }),
      });
      checkOutcome(operation.surface, label, item.expect, response);
    }
    return ran;
  }

  function checkOutcome(
    surface: string,
    label: string,
    expectation: Expectation,
    response: RawResponse,
  ): void {
    switch (expectation.outcome) {
      case 'error': {
        expect(response.status, `${label}: ${response.text}`).toBe(expectation.status);
        expectSurfaceError(surface, response, label);
        break;
      }
      case 'list-excludes': {
        expect(response.status, `${label}: ${response.text}`).toBe(200);
        for (const foreign of expectation.foreign(fixtures)) {
          expect(response.text, `${label} shows ${foreign}`).not.toContain(foreign);
        }
        break;
      }
      case 'created-in-own-workspace':
      case 'public': {
        expect(response.status, `${label}: ${response.text}`).toBe(expectation.status);
        break;
      }
    }
  }

  for (const key of compatKeys) {
    it.skipIf(skip)(`${key}: A's resources are invisible and unchanged`, async () => {
      await exercise(key, 'probe');
      covered.push(key);
      expect(await snapshotA(), `${key} changed workspace A`).toEqual(before);
    });
  }

  for (const key of Object.keys(table)) {
    if (!(table[key] ?? []).some((item) => item.expect.outcome === 'created-in-own-workspace')) continue;
    it.skipIf(skip)(`${key}: a same-named resource is created in B, not A`, async () => {
      expect(await exercise(key, 'create')).toBeGreaterThan(0);
      expect(await snapshotA(), `${key} changed workspace A`).toEqual(before);
    });
  }

  it.skipIf(skip)('B holds its creations; the walk covered every compat operation (listed)', async () => {
    const b = await snapshotWorkspace(server.url, keyB);
    expect(b.agents.map((agent) => agent.slug)).toContain(fixtures.agentSlug);
    expect(b.agents.find((agent) => agent.slug === fixtures.agentSlug)?.id).not.toBe(fixtures.agentId);
    expect(b.tools.map((tool) => tool.name)).toContain(fixtures.toolName);
    expect(b.providers.map((provider) => provider.name)).toContain(fixtures.providerName);
    expect(b.policies.map((policy) => policy.name)).toContain(fixtures.policyName);
    expect(b.threads.map((thread) => thread.title)).toContain('B thread');
    expect(b.runs).toEqual([]);
    console.log(`foreign-workspace covers the compat operations: ${covered.join(', ')}`);
    expect([...covered].sort()).toEqual([...compatKeys].sort());
    expect(covered.map((key) => compatKey(compatOperation(key)))).toEqual(covered);
  });
});
