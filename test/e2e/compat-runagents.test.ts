import { describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import {
  expectRunagentsError,
  freshWorkspace,
  json,
  runagentsClient,
  waitForStatus,
} from './compat-runagents-http.ts';

interface RunView {
  id: string;
  agent_id: string;
  namespace: string;
  status: string;
  output: string | null;
}
interface EventView {
  sequence: number;
  type: string;
  data: Record<string, unknown>;
}

describe.each(backendNames)('the runagents surface on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)(
    'runs the documented examples: starter kit, deploy errors, a prompt agent and its run',
    async () => {
      const key = await freshWorkspace(server(), 'Runagents Docs');
      const call = runagentsClient(server(), key);

      // Starter kit, twice: the same documented answer, nothing duplicated.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const kit = await call('POST', '/api/starter-kit', {
          headers: { 'x-workspace-namespace': 'runagents-docs' },
        });
        expect(kit.status).toBe(201);
        expect(kit.body).toEqual({ tool_created: 'echo-tool', model_provider_created: 'playground-llm' });
      }
      const tools = json<{ name: string; spec: { accessMode: string } }[]>(await call('GET', '/api/tools'));
      expect(tools.filter((tool) => tool.name === 'echo-tool')).toHaveLength(1);
      expect(tools.find((tool) => tool.name === 'echo-tool')?.spec.accessMode).toBe('Open');
      const providers = json<{ name: string; provider: string }[]>(await call('GET', '/api/model-providers'));
      expect(providers.filter((provider) => provider.name === 'playground-llm')).toEqual([
        expect.objectContaining({ provider: 'playground' }),
      ]);

      // The documented errors.
      expect(
        expectRunagentsError(await call('POST', '/api/deploy', { body: {} }), 400, 'bad_request'),
      ).toContain('agent_name');
      expect(
        expectRunagentsError(
          await call('POST', '/api/deploy', { body: { agent_name: 'my-agent' } }),
          400,
          'bad_request',
        ),
      ).toContain('No valid deploy source');
      expect(
        expectRunagentsError(
          await call('POST', '/api/deploy', {
            body: { agent_name: 'my-agent', namespace: 'other', image: 'ghcr.io/acme/my-agent:1.2.0' },
            headers: { 'x-workspace-namespace': 'runagents-docs' },
          }),
          400,
          'bad_request',
        ),
      ).toContain('namespace mismatch');
      // The documented image and source deploys: code deployment is not available yet.
      const imageDeploy = await call('POST', '/api/deploy', {
        body: {
          agent_name: 'my-agent',
          image: 'ghcr.io/acme/my-agent:1.2.0',
          required_tools: ['echo-tool'],
          policies: ['echo-read-policy'],
          llm_configs: [{ provider: 'openai', model: 'gpt-4o-mini' }],
        },
      });
      expect(expectRunagentsError(imageDeploy, 422, 'code_deployment_unavailable')).toContain(
        'not available',
      );
      const sourceDeploy = await call('POST', '/api/deploy', {
        body: {
          agent_name: 'billing-agent',
          source_files: { 'agent.py': 'print("hello")' },
          required_tools: ['stripe-api'],
          llm_configs: [{ provider: 'openai', model: 'gpt-4o-mini', role: 'chat' }],
          policies: ['billing-stripe-policy'],
          entry_point: 'agent.py',
          requirements: 'runagents>=0.2.0\n',
        },
      });
      expectRunagentsError(sourceDeploy, 422, 'code_deployment_unavailable');
      expect(json<unknown[]>(await call('GET', '/api/agents'))).toEqual([]);

      // A policy for the echo tool, then a prompt agent, deployed twice.
      const policy = await call('POST', '/api/policies', {
        body: {
          name: 'echo-read-policy',
          spec: {
            rules: [{ permission: 'deny', resource: 'https://forbidden.example.com/**', operations: ['*'] }],
          },
        },
      });
      expect(policy.status).toBe(201);
      const deployBody = {
        agent_name: 'echo-agent',
        system_prompt: 'You echo things.',
        llm_configs: [{ provider: 'playground-llm', model: 'playground' }],
        required_tools: ['echo-tool'],
        tools_to_create: [{ name: 'notes-api', base_url: 'notes.example.com', scheme: 'HTTPS', port: 8443 }],
        policies: ['echo-read-policy'],
      };
      const first = await call('POST', '/api/deploy', { body: deployBody });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({
        agent: 'echo-agent',
        namespace: 'runagents-docs',
        tools_created: ['notes-api'],
        execution_mode: 'PROMPT_AGENT',
        build_required: false,
        action: 'created',
        version: 1,
      });
      const second = await call('POST', '/api/deploy', { body: deployBody });
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({
        agent: 'echo-agent',
        tools_created: [],
        action: 'unchanged',
        version: 1,
      });

      const agent = json<{ spec: Record<string, unknown>; status: { phase: string } }>(
        await call('GET', '/api/agents/runagents-docs/echo-agent'),
      );
      expect(agent.spec).toMatchObject({
        image: null,
        systemPrompt: 'You echo things.',
        requiredTools: ['echo-tool', 'notes-api'],
        llmConfig: [{ provider: 'playground-llm', model: 'playground', role: 'chat' }],
        policies: ['echo-read-policy', 'access-echo-tool', 'access-notes-api'],
      });
      expect(agent.status.phase).toBe('Running');
      const notes = json<{ name: string; spec: { connection: { baseUrl: string; port: number } } }[]>(
        await call('GET', '/api/tools'),
      ).find((tool) => tool.name === 'notes-api');
      expect(notes?.spec.connection).toMatchObject({ baseUrl: 'https://notes.example.com:8443', port: 8443 });

      // A run of the deployed agent: the playground model calls echo-tool, an http tool on this server.
      const started = await call('POST', '/runs', {
        body: { agent_id: 'echo-agent', input: 'please use echo-tool {"text":"hello runagents"}' },
      });
      expect(started.status).toBe(201);
      const runId = json<RunView>(started).id;
      const ended = await waitForStatus(call, runId, ['COMPLETED', 'FAILED']);
      expect(ended).toMatchObject({
        status: 'COMPLETED',
        agent_id: 'echo-agent',
        namespace: 'runagents-docs',
      });

      const events = json<EventView[]>(await call('GET', `/runs/${runId}/events`));
      expect(events.map((event) => event.sequence)).toEqual(events.map((_event, index) => index + 1));
      expect(events.map((event) => event.type)).toEqual(['TOOL_CALL', 'LLM_CALL', 'LLM_CALL', 'COMPLETED']);
      expect(events[0]?.data).toMatchObject({
        tool: 'echo-tool',
        input: { text: 'hello runagents' },
        is_error: false,
      });
      expect(JSON.stringify(events[0]?.data.output)).toContain('hello runagents');

      // Lists and filters.
      const failedRun = json<RunView>(
        await call('POST', '/runs', {
          body: { agent_id: 'runagents-docs/echo-agent', input: 'use notes-api {"q":"x"}', wait: true },
        }),
      );
      expect(failedRun.status).toBe('COMPLETED');
      const completed = json<RunView[]>(await call('GET', '/runs?agent_id=echo-agent&status=COMPLETED'));
      expect(completed.map((run) => run.id).sort()).toEqual([runId, failedRun.id].sort());
      expect(json<RunView[]>(await call('GET', '/runs?status=FAILED'))).toEqual([]);
      expect(json<RunView[]>(await call('GET', '/runs?agent_id=nobody'))).toEqual([]);
      expectRunagentsError(await call('GET', '/runs?status=DONE'), 400, 'bad_request');

      // The refused call (no rule allows notes.example.com: deny) reaches the model as a tool result.
      const refused = json<EventView[]>(await call('GET', `/runs/${failedRun.id}/events`));
      expect(refused[0]).toMatchObject({ type: 'TOOL_CALL', data: { tool: 'notes-api', is_error: true } });

      // Delete, then the agent is gone.
      const deleted = await call('DELETE', '/api/agents/runagents-docs/echo-agent');
      expect(deleted.body).toEqual({ deleted: true, agent: 'echo-agent', namespace: 'runagents-docs' });
      expectRunagentsError(await call('GET', '/api/agents/runagents-docs/echo-agent'), 404, 'not_found');
    },
  );

  it.skipIf(skip)('creates and lists tools, model providers and policies idempotently', async () => {
    const key = await freshWorkspace(server(), 'runagents resources');
    const call = runagentsClient(server(), key);
    await server().client(key).secrets.create({ name: 'STRIPE_KEY', value: 'sk_test_never_shown_123' });
    const toolBody = {
      name: 'stripe-api',
      spec: {
        connection: {
          baseUrl: 'https://api.stripe.com',
          authentication: {
            type: 'APIKey',
            name: 'Authorization',
            prefix: 'Bearer ',
            secretRef: 'STRIPE_KEY',
          },
        },
        accessMode: 'Critical',
      },
    };
    const created = await call('POST', '/api/tools', { body: toolBody });
    expect(created.status).toBe(201);
    const again = await call('POST', '/api/tools', { body: toolBody });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      name: 'stripe-api',
      spec: {
        accessMode: 'Critical',
        connection: {
          baseUrl: 'https://api.stripe.com',
          scheme: 'HTTPS',
          port: 443,
          authentication: { type: 'APIKey', secretRef: 'STRIPE_KEY' },
        },
      },
    });
    expect(JSON.stringify(await call('GET', '/api/tools'))).not.toContain('sk_test_never_shown_123');
    const policies = json<{ name: string; spec: { rules: unknown[] } }[]>(await call('GET', '/api/policies'));
    expect(policies.find((policy) => policy.name === 'access-stripe-api')?.spec.rules).toEqual([
      { permission: 'approval_required', resource: 'https://api.stripe.com/**', operations: ['*'] },
      { permission: 'allow', resource: 'https://api.stripe.com/**', operations: ['*'] },
    ]);
    // Restricted: no rule of its own, so only an explicit allow policy lets calls through.
    const restricted = await call('POST', '/api/tools', {
      body: { ...toolBody, spec: { ...toolBody.spec, accessMode: 'Restricted' } },
    });
    expect(restricted.body).toMatchObject({ spec: { accessMode: 'Restricted' } });
    expectRunagentsError(
      await call('POST', '/api/tools', {
        body: {
          ...toolBody,
          spec: {
            connection: {
              ...toolBody.spec.connection,
              authentication: { type: 'APIKey', secretRef: 'MISSING' },
            },
          },
        },
      }),
      400,
      'bad_request',
    );
    expectRunagentsError(
      await call('POST', '/api/tools', { body: { name: 'Bad Name', spec: {} } }),
      400,
      'bad_request',
    );

    const provider = await call('POST', '/api/model-providers', {
      body: {
        name: 'local-ollama',
        provider: 'ollama',
        endpoint: 'http://127.0.0.1:11434/v1',
        models: ['llama3'],
        rateLimit: { requestsPerMinute: 60 },
      },
    });
    expect(provider.status).toBe(201);
    expect(provider.body).toMatchObject({
      name: 'local-ollama',
      provider: 'ollama',
      models: ['llama3'],
      rateLimit: { requestsPerMinute: 60 },
    });
    expectRunagentsError(
      await call('POST', '/api/model-providers', { body: { name: 'no-endpoint', provider: 'ollama' } }),
      400,
      'bad_request',
    );
    expectRunagentsError(
      await call('POST', '/api/model-providers', {
        body: { name: 'local-ollama', provider: 'ollama', endpoint: 'http://127.0.0.1:1/v1' },
      }),
      409,
      'conflict',
    );
    expect(
      json<{ name: string }[]>(await call('GET', '/api/model-providers')).map((item) => item.name),
    ).toContain('local-ollama');

    const rule = { permission: 'allow', resource: 'https://api.stripe.com/v1/**', operations: ['GET'] };
    expect(
      (await call('POST', '/api/policies', { body: { name: 'stripe-read', spec: { rules: [rule] } } }))
        .status,
    ).toBe(201);
    const updated = await call('POST', '/api/policies', {
      body: { name: 'stripe-read', rules: [rule, { ...rule, permission: 'deny', operations: ['DELETE'] }] },
    });
    expect(updated.status).toBe(200);
    expect(json<{ spec: { rules: unknown[] } }>(updated).spec.rules).toHaveLength(2);
    expectRunagentsError(
      await call('POST', '/api/policies', {
        body: { name: 'bad', rules: [{ ...rule, resource: 'not a url' }] },
      }),
      400,
      'bad_request',
    );
    const routes = [{ toolIds: ['stripe-api'], approvers: ['a@example.com'], defaultDuration: '1h30m' }];
    const routed = await call('POST', '/api/policies', {
      body: { name: 'routed', spec: { rules: [], approvals: routes } },
    });
    expect(routed.status).toBe(201);
    expect(json<{ spec: { approvals: unknown[] } }>(routed).spec.approvals).toEqual(routes);
  });

  it.skipIf(skip)('answers bad input, missing keys and other workspaces in its own shape', async () => {
    const key = await freshWorkspace(server(), 'runagents guard');
    const otherKey = await freshWorkspace(server(), 'runagents other');
    const call = runagentsClient(server(), key);
    const other = runagentsClient(server(), otherKey);
    await other('POST', '/api/starter-kit');
    const deployed = await other('POST', '/api/deploy', {
      body: {
        agent_name: 'secret-agent',
        system_prompt: 'x',
        llm_configs: [{ provider: 'playground', model: 'playground' }],
      },
    });
    expect(deployed.status).toBe(201);

    expectRunagentsError(await call('GET', '/api/agents', { key: null }), 401, 'unauthorized');
    expectRunagentsError(await call('GET', '/api/agents', { key: 'rk_wrong' }), 401, 'unauthorized');
    expectRunagentsError(await call('POST', '/api/deploy', { key: null, body: {} }), 401, 'unauthorized');
    expectRunagentsError(
      await call('GET', '/api/agents', { headers: { 'x-workspace-namespace': 'runagents-other' } }),
      403,
      'forbidden',
    );
    expectRunagentsError(await call('GET', '/api/agents/runagents-other/secret-agent'), 404, 'not_found');
    expectRunagentsError(await call('GET', '/api/agents/runagents-guard/secret-agent'), 404, 'not_found');
    expectRunagentsError(await call('DELETE', '/api/agents/runagents-other/secret-agent'), 404, 'not_found');
    expectRunagentsError(
      await call('POST', '/runs', { body: { agent_id: 'runagents-other/secret-agent', input: 'hi' } }),
      404,
      'not_found',
    );
    expectRunagentsError(
      await call('POST', '/runs', { body: { agent_id: 'secret-agent', input: 'hi' } }),
      404,
      'not_found',
    );
    const otherRun = json<RunView>(
      await other('POST', '/runs', { body: { agent_id: 'secret-agent', input: 'hi' } }),
    );
    expectRunagentsError(await call('GET', `/runs/${otherRun.id}`), 404, 'not_found');
    expectRunagentsError(await call('GET', `/runs/${otherRun.id}/events`), 404, 'not_found');
    expect(json<RunView[]>(await call('GET', '/runs'))).toEqual([]);

    for (const body of [
      'not json',
      '[]',
      '{"agent_name": 42}',
      '{"agent_name": "Bad_Name", "system_prompt": "x"}',
      '{"agent_name": "ok-agent", "system_prompt": "x", "unknown": 1}',
      '{"agent_name": "ok-agent", "system_prompt": "x", "llm_configs": []}',
      '{"agent_name": "ok-agent", "system_prompt": "x", "llm_configs": [{"provider": "nobody", "model": "m"}]}',
      '{"agent_name": "ok-agent", "system_prompt": "x", "llm_configs": [{"provider": "playground", "model": "playground"}], "required_tools": ["nope"]}',
      '{"agent_name": "ok-agent", "system_prompt": "x", "llm_configs": [{"provider": "playground", "model": "playground"}], "policies": ["nope"]}',
      '{"agent_name": "ok-agent", "system_prompt": "x", "tools_to_create": [{"name": "t1", "base_url": "x.example.com", "auth_type": "APIKey"}]}',
    ]) {
      const response = await call('POST', '/api/deploy', { rawBody: body });
      expectRunagentsError(response, 400, 'bad_request');
    }
    expect(json<unknown[]>(await call('GET', '/api/agents'))).toEqual([]);
    expectRunagentsError(await call('POST', '/runs', { body: { agent_id: 'x' } }), 400, 'bad_request');
    expectRunagentsError(await call('GET', '/api/agents?limit=0'), 400, 'bad_request');
    expectRunagentsError(await call('GET', '/api/nothing-here'), 404, 'not_found');
    // Another workspace's run is not found; one's own run that waits for nothing is a 409.
    expectRunagentsError(await call('POST', `/runs/${otherRun.id}/approve`, { body: {} }), 404, 'not_found');
    expectRunagentsError(
      await call('POST', `/runs/${otherRun.id}/deny`, { key: otherKey, body: {} }),
      409,
      'conflict',
    );
  });
});
