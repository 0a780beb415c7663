import { describe, expect, it } from 'vitest';
import { sleep } from '@runyard/protocol';
import { RunyardApiError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import {
  expectRunagentsError,
  freshWorkspace,
  json,
  runagentsClient,
  waitForStatus,
  type RunagentsCall,
} from './compat-runagents-http.ts';

interface AgentView {
  spec: { llmConfig: { provider: string; model: string; role: string }[] };
}

/** The echo-tool of the starter kit, made Critical: every call of it waits for an approval. */
async function criticalEchoTool(call: RunagentsCall): Promise<void> {
  const echo = json<{ name: string; spec: { connection: { baseUrl: string } } }[]>(
    await call('GET', '/api/tools'),
  ).find((tool) => tool.name === 'echo-tool');
  const critical = await call('POST', '/api/tools', {
    body: {
      name: 'echo-tool',
      spec: {
        connection: { baseUrl: echo?.spec.connection.baseUrl ?? '', authentication: { type: 'None' } },
        accessMode: 'Critical',
        inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      },
    },
  });
  expect(critical.status).toBe(200);
}

describe.each(backendNames)('the runagents surface as documented on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('deploys without llm_configs on the namespace default model', async () => {
    const key = await freshWorkspace(server(), 'runagents default model');
    const call = runagentsClient(server(), key);
    const workspace = server().client(key);
    const workspaceId = (await workspace.workspaces.list()).data[0]?.id ?? '';
    expect((await workspace.workspaces.get(workspaceId)).defaultModel).toBeNull();

    // No default model yet: a 400 saying how to get one, and nothing stored.
    const plain = { agent_name: 'plain-agent', system_prompt: 'Answer briefly.' };
    const refused = expectRunagentsError(
      await call('POST', '/api/deploy', { body: plain }),
      400,
      'bad_request',
    );
    expect(refused).toContain('no default model');
    expect(refused).toContain('POST /api/starter-kit');
    expect((await workspace.agents.list()).data).toEqual([]);

    // The documented starter kit answer, verbatim; it sets the playground as the default model.
    const kit = await call('POST', '/api/starter-kit');
    expect(kit.status).toBe(201);
    expect(kit.body).toEqual({ tool_created: 'echo-tool', model_provider_created: 'playground-llm' });
    expect((await workspace.workspaces.get(workspaceId)).defaultModel).toBe('playground/playground');

    const deployed = await call('POST', '/api/deploy', { body: plain });
    expect(deployed.status).toBe(201);
    expect(deployed.body).toMatchObject({ agent: 'plain-agent', namespace: 'runagents-default-model' });
    const shown = json<AgentView>(await call('GET', '/api/agents/runagents-default-model/plain-agent'));
    expect(shown.spec.llmConfig).toEqual([{ provider: 'playground', model: 'playground', role: 'chat' }]);
    const run = await call('POST', '/runs', {
      body: { agent_id: 'plain-agent', input: 'hello', wait: true },
    });
    expect(run.body).toMatchObject({ status: 'COMPLETED', output: 'You said: hello' });

    // A default the user chose: used by later deploys, never replaced by the starter kit.
    const chosen = await workspace.workspaces.update(workspaceId, {
      defaultModel: 'playground-llm/playground',
    });
    expect(chosen.defaultModel).toBe('playground-llm/playground');
    expect((await call('POST', '/api/starter-kit')).status).toBe(201);
    expect((await workspace.workspaces.get(workspaceId)).defaultModel).toBe('playground-llm/playground');
    expect(
      (await call('POST', '/api/deploy', { body: { ...plain, agent_name: 'second-agent' } })).status,
    ).toBe(201);
    expect((await workspace.agents.get('second-agent')).model).toBe('playground-llm/playground');

    // A default model must name a provider of the workspace; null unsets it.
    const unknown = await workspace.workspaces
      .update(workspaceId, { defaultModel: 'nowhere/model' })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(RunyardApiError);
    expect(unknown).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((unknown as RunyardApiError).message).toContain("defaultModel: no provider named 'nowhere'");
    expect((await workspace.workspaces.update(workspaceId, { defaultModel: null })).defaultModel).toBeNull();
  });

  it.skipIf(skip)('reads a model provider back as the type it was created as', async () => {
    const key = await freshWorkspace(server(), 'runagents provider types');
    const call = runagentsClient(server(), key);
    const workspace = server().client(key);
    const ollama = await call('POST', '/api/model-providers', {
      body: {
        name: 'local-llama',
        provider: 'ollama',
        endpoint: 'http://127.0.0.1:11434/v1',
        models: ['llama3'],
        rateLimit: { requestsPerMinute: 60 },
      },
    });
    expect(ollama.status).toBe(201);
    expect(ollama.body).toMatchObject({ name: 'local-llama', provider: 'ollama', models: ['llama3'] });
    await workspace.secrets.create({ name: 'OPENAI_KEY', value: 'sk-not-used' });
    const openai = await call('POST', '/api/model-providers', {
      body: {
        name: 'openai-main',
        provider: 'openai',
        models: ['gpt-4o-mini'],
        auth: { secretRef: 'OPENAI_KEY' },
      },
    });
    expect(openai.body).toMatchObject({ provider: 'openai', auth: { secretRef: 'OPENAI_KEY' } });

    const listed = json<{ name: string; provider: string }[]>(await call('GET', '/api/model-providers'));
    expect(Object.fromEntries(listed.map((provider) => [provider.name, provider.provider]))).toEqual({
      playground: 'playground',
      'local-llama': 'ollama',
      'openai-main': 'openai',
    });
    // Runyard's own view keeps its kind.
    expect((await workspace.providers.get('local-llama')).kind).toBe('openai-compatible');

    // A deploy names the type: the one ollama provider serves it.
    const deployed = await call('POST', '/api/deploy', {
      body: {
        agent_name: 'llama-agent',
        system_prompt: 'Hi.',
        llm_configs: [{ provider: 'ollama', model: 'llama3' }],
      },
    });
    expect(deployed.status).toBe(201);
    expect((await workspace.agents.get('llama-agent')).model).toBe('local-llama/llama3');
  });

  it.skipIf(skip)('lists runs waiting for their caller as PAUSED_CONSENT', async () => {
    const key = await freshWorkspace(server(), 'runagents consent');
    const call = runagentsClient(server(), key);
    const workspace = server().client(key);
    const empty = await call('GET', '/runs?status=PAUSED_CONSENT');
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual([]);

    // A client tool: the run waits for the caller's side to give its output.
    await workspace.tools.create({
      name: 'ask_user',
      kind: 'client',
      description: 'Asks the user.',
      inputSchema: { type: 'object', properties: { question: { type: 'string' } }, required: ['question'] },
    });
    await workspace.agents.create({
      slug: 'asker',
      name: 'asker',
      model: 'playground/playground',
      tools: ['ask_user'],
    });
    const run = json<{ id: string }>(
      await call('POST', '/runs', { body: { agent_id: 'asker', input: 'use ask_user {"question":"ok?"}' } }),
    );
    expect(await waitForStatus(call, run.id, ['PAUSED_CONSENT'])).toMatchObject({ status: 'PAUSED_CONSENT' });
    const consent = json<{ id: string; status: string }[]>(await call('GET', '/runs?status=PAUSED_CONSENT'));
    expect(consent.map((item) => [item.id, item.status])).toEqual([[run.id, 'PAUSED_CONSENT']]);
    expect(json(await call('GET', '/runs?status=PAUSED_APPROVAL'))).toEqual([]);
  });

  it.skipIf(skip)(
    'lets only the approvers of an approval route decide, with its default window',
    async () => {
      const key = await freshWorkspace(server(), 'runagents approval routes');
      const call = runagentsClient(server(), key);
      const workspace = server().client(key);
      await call('POST', '/api/starter-kit');
      await criticalEchoTool(call);
      const alice = await workspace.apiKeys.create({ name: 'alice', scopes: ['run', 'read'] });
      const bob = await workspace.apiKeys.create({ name: 'bob', scopes: ['run', 'read'] });
      const carol = await workspace.apiKeys.create({ name: 'carol', scopes: ['run', 'read'] });

      const route = { toolIds: ['echo-tool'], approvers: ['alice', carol.id], defaultDuration: '2s' };
      const policy = await call('POST', '/api/policies', {
        body: { name: 'echo-approvals', spec: { rules: [], approvals: [route] } },
      });
      expect(policy.status).toBe(201);
      expect(policy.body).toMatchObject({ name: 'echo-approvals', spec: { rules: [], approvals: [route] } });
      expect((await workspace.policies.get('echo-approvals')).approvalRoutes).toEqual([
        { tools: ['echo-tool'], approvers: ['alice', carol.id], defaultDurationMs: 2000 },
      ]);
      expect(
        (
          await call('POST', '/api/deploy', {
            body: {
              agent_name: 'routed-agent',
              system_prompt: 'Echo.',
              required_tools: ['echo-tool'],
              policies: ['echo-approvals'],
            },
          })
        ).status,
      ).toBe(201);

      const input = 'use echo-tool {"text":"route me"}';
      const first = json<{ id: string }>(
        await call('POST', '/runs', { body: { agent_id: 'routed-agent', input } }),
      );
      await waitForStatus(call, first.id, ['PAUSED_APPROVAL']);
      // Not an approver: the workspace's admin key and bob are refused, in the surface's 403.
      for (const other of [key, bob.key]) {
        for (const [path, body] of [
          [`/runs/${first.id}/approve`, { scope: 'window' }],
          [`/runs/${first.id}/deny`, { reason: 'no' }],
        ] as const) {
          const message = expectRunagentsError(
            await call('POST', path, { key: other, body }),
            403,
            'forbidden',
          );
          expect(message).toContain('may only be decided by its approvers');
        }
      }
      // alice by her key's name; a window with no duration lasts the route's default (2 s).
      const approved = await call('POST', `/runs/${first.id}/approve`, {
        key: alice.key,
        body: { scope: 'window' },
      });
      expect(approved.body).toMatchObject({ status: 'APPROVED', scope: 'window' });
      const windowStart = Date.parse((approved.body as { decided_at: string }).decided_at);
      expect(await waitForStatus(call, first.id, ['COMPLETED', 'FAILED'])).toMatchObject({
        status: 'COMPLETED',
      });
      const covered = json<{ id: string }>(
        await call('POST', '/runs', { body: { agent_id: 'routed-agent', input, wait: true } }),
      );
      // Within the window the next run is not paused (when this machine was quick enough to tell).
      if (Date.now() - windowStart < 1500) expect(covered).toMatchObject({ status: 'COMPLETED' });
      await sleep(Math.max(0, windowStart + 2300 - Date.now()));
      // After it (2 s, not the 4 h default), the call waits for an approver again.
      const after = json<{ id: string }>(
        await call('POST', '/runs', { body: { agent_id: 'routed-agent', input } }),
      );
      await waitForStatus(call, after.id, ['PAUSED_APPROVAL']);
      // carol by her key's id.
      const denied = await call('POST', `/runs/${after.id}/deny`, {
        key: carol.key,
        body: { reason: 'expired window' },
      });
      expect(denied.body).toMatchObject({ status: 'REJECTED', reason: 'expired window' });
    },
  );

  it.skipIf(skip)('names its own fields in validation errors, never Runyard paths', async () => {
    const key = await freshWorkspace(server(), 'runagents field names');
    const call = runagentsClient(server(), key);
    await call('POST', '/api/starter-kit');
    // Runyard's names of the fields these requests carry.
    const internal = /auth\.value|apiKey|clientSecret\.secret|instructions|effect|approvalRoutes|durationMs/;
    /** `field`: the first issue's path; `lead`: the field the message starts with, when it differs. */
    const cases: { path: string; body: unknown; field: string; lead?: string }[] = [
      {
        path: '/api/tools',
        body: {
          name: 'stripe-api',
          spec: {
            connection: {
              baseUrl: 'https://api.stripe.com',
              authentication: { type: 'APIKey', secretRef: 'NO_SUCH_SECRET' },
            },
          },
        },
        field: 'spec.connection.authentication.secretRef',
      },
      {
        path: '/api/tools',
        body: {
          name: 'oauth-api',
          spec: {
            connection: {
              baseUrl: 'https://api.example.com',
              authentication: {
                type: 'OAuth2',
                tokenUrl: 'https://auth.example.com/token',
                clientId: 'id',
                clientSecretRef: 'NO_SUCH_SECRET',
              },
            },
          },
        },
        field: 'spec.connection.authentication.clientSecretRef',
      },
      {
        path: '/api/tools',
        body: { name: 'bad-url', spec: { connection: { baseUrl: 'ftp://files.example.com' } } },
        field: 'spec.connection.baseUrl',
      },
      {
        path: '/api/model-providers',
        body: { name: 'keyed', provider: 'openai', auth: { secretRef: 'NO_SUCH_SECRET' } },
        field: 'auth.secretRef',
      },
      {
        path: '/api/model-providers',
        body: { name: 'no-endpoint', provider: 'vllm' },
        field: 'endpoint',
      },
      {
        path: '/api/policies',
        body: { name: 'bad-rule', spec: { rules: [{ permission: 'allow', resource: 'not a url' }] } },
        field: 'spec.rules.0.resource',
      },
      {
        path: '/api/policies',
        body: { name: 'bad-flat', rules: [{ permission: 'allow', resource: 'tool:x', operations: ['GET'] }] },
        field: 'rules.0.operations',
      },
      {
        path: '/api/policies',
        body: {
          name: 'bad-route',
          spec: { approvals: [{ toolIds: ['x'], approvers: ['a'], defaultDuration: '4 hours' }] },
        },
        field: 'spec.approvals.0.defaultDuration',
      },
      {
        path: '/api/deploy',
        body: {
          agent_name: 'env-agent',
          system_prompt: 'Hi.',
          env: [
            { name: 'PLAIN', value: 'x' },
            { name: 'TOKEN', secretRef: 'NO_SUCH_SECRET' },
          ],
        },
        field: 'env.1.secretRef',
      },
      {
        path: '/api/deploy',
        body: {
          agent_name: 'tool-agent',
          system_prompt: 'Hi.',
          required_tools: ['echo-tool', 'no-such-tool'],
        },
        field: 'required_tools.1',
        lead: 'required_tools',
      },
      {
        path: '/api/deploy',
        body: { agent_name: 'policy-agent', system_prompt: 'Hi.', policies: ['no-such-policy'] },
        field: 'policies.0',
        lead: 'policies',
      },
      {
        path: '/api/deploy',
        body: {
          agent_name: 'made-tool',
          system_prompt: 'Hi.',
          tools_to_create: [{ name: 'ftp-tool', base_url: 'ftp://files.example.com' }],
        },
        field: 'tools_to_create.0.base_url',
      },
      {
        path: '/api/deploy',
        body: {
          agent_name: 'model-agent',
          system_prompt: 'Hi.',
          llm_configs: [{ provider: 'nowhere', model: 'm' }],
        },
        field: 'llm_configs',
      },
      { path: '/runs', body: { agent_id: 'x', input: '' }, field: 'input' },
    ];
    for (const item of cases) {
      const response = await call('POST', item.path, { body: item.body });
      const message = expectRunagentsError(response, 400, 'bad_request');
      expect(message.startsWith(`${item.lead ?? item.field}: `), `${item.path}: ${message}`).toBe(true);
      const issues = (response.body as { details?: { issues?: { path: string }[] } }).details?.issues;
      if (issues !== undefined) expect(issues[0]?.path, item.path).toBe(item.field);
      expect(JSON.stringify(response.body), item.path).not.toMatch(internal);
    }

    // approve: a duration without a window (the body's own field).
    await criticalEchoTool(call);
    await call('POST', '/api/deploy', {
      body: { agent_name: 'careful', system_prompt: 'Echo.', required_tools: ['echo-tool'] },
    });
    const run = json<{ id: string }>(
      await call('POST', '/runs', { body: { agent_id: 'careful', input: 'use echo-tool {"text":"x"}' } }),
    );
    await waitForStatus(call, run.id, ['PAUSED_APPROVAL']);
    const approve = await call('POST', `/runs/${run.id}/approve`, {
      body: { scope: 'once', duration_ms: 1000 },
    });
    expect(expectRunagentsError(approve, 400, 'bad_request')).toMatch(/^duration_ms: /);
    expect(JSON.stringify(approve.body)).not.toContain('durationMs');
  });
});
