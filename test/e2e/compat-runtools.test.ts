import { describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import {
  agentListResponseSchema,
  agentResponseSchema,
  bodyOf,
  deletedResponseSchema,
  expectRuntoolsError,
  freshWorkspace,
  parseFrames,
  runResponseSchema,
  runtoolsClient,
  seedAgentBody,
  upsertResponseSchema,
} from './compat-runtools-http.ts';

describe.each(backendNames)('the runtools surface: agents and runs on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)(
    'stores the seed example verbatim on a fresh server, saying what is not available yet',
    async () => {
      const key = await freshWorkspace(server(), 'runtools seed');
      const call = runtoolsClient(server(), key);
      const workspace = server().client(key);

      // No provider serves claude-sonnet-4 yet, and sandboxes do not exist: stored all the same (201),
      // with the documented fields, and a warning for each thing the agent cannot use here yet.
      const createdResponse = await call('POST', '/v1/agents', { body: seedAgentBody });
      expect(createdResponse.status).toBe(201);
      const createdBody = bodyOf(upsertResponseSchema, createdResponse);
      const created = createdBody.data;
      expect(created).toEqual({
        id: expect.stringMatching(/^agt_/) as unknown,
        slug: 'code-assistant',
        action: 'created',
        version: 1,
        sandboxId: 'build-runner',
        targetDeviceId: null,
        endpoint: `${server().url}/compat/runtools/v1/agents/code-assistant/run`,
      });
      expect(createdBody.warnings.map((warning) => [warning.code, warning.field])).toEqual([
        ['model_unavailable', 'model'],
        ['tool_unavailable', 'tools.0'],
        ['tool_unavailable', 'tools.1'],
        ['tool_unavailable', 'tools.2'],
        ['tool_unavailable', 'tools.3'],
        ['tool_unavailable', 'tools.4'],
        ['sandbox_unavailable', 'sandbox'],
      ]);
      const [modelWarning, execWarning, , , webSearchWarning] = createdBody.warnings;
      expect(modelWarning?.message).toContain("no provider in this workspace serves 'claude-sonnet-4'");
      expect(modelWarning?.message).toContain('add an anthropic provider');
      expect(execWarning?.message).toContain("'exec_command' acts in a sandbox");
      expect(webSearchWarning?.message).toContain("no tool named 'web_search' exists in this workspace");

      // The same call again changes nothing: runtools' `updated`, still version 1, the same warnings.
      const againResponse = await call('POST', '/v1/agents', { body: seedAgentBody });
      expect(againResponse.status).toBe(200);
      expect(bodyOf(upsertResponseSchema, againResponse)).toEqual({
        data: { ...created, action: 'updated' },
        warnings: createdBody.warnings,
      });

      const stored = await workspace.agents.get('code-assistant');
      expect(stored).toMatchObject({
        id: created.id,
        name: 'Code Assistant',
        // The provider it waits for, named after the kind to add.
        model: 'anthropic/claude-sonnet-4',
        instructions: 'You are a careful software engineering assistant.',
        tools: [],
        settings: { maxIterations: 25, maxOutputTokens: 16384 },
        metadata: {
          runtools: {
            model: 'claude-sonnet-4',
            tools: seedAgentBody.tools,
            sandbox: 'build-runner',
            executionMode: 'in_sandbox',
            targetDeviceId: null,
            resources: [],
            unservedModelKind: 'anthropic',
          },
        },
      });

      // Until sandboxes exist, running an in_sandbox agent is a clear 422, and no run is made.
      for (const [path, body] of [
        [
          '/v1/run',
          { agent: 'code-assistant', prompt: 'Run the tests and summarize failures.', stream: false },
        ],
        ['/v1/agents/code-assistant/run', { prompt: 'Create a tiny TypeScript CLI.' }],
      ] as const) {
        const refusedRun = expectRuntoolsError(
          await call('POST', path, { body }),
          422,
          'sandbox_unavailable',
        );
        expect(refusedRun.message).toContain('sandboxes are not available on this server');
      }

      // The same agent, managed: its run fails at once, naming the provider kind to add.
      const managedBody = {
        ...seedAgentBody,
        slug: 'code-managed',
        sandbox: undefined,
        executionMode: 'managed',
      };
      const managed = bodyOf(upsertResponseSchema, await call('POST', '/v1/agents', { body: managedBody }));
      expect(managed.warnings.map((warning) => warning.code)).toContain('model_unavailable');
      expect(managed.warnings.map((warning) => warning.code)).not.toContain('sandbox_unavailable');
      for (const stream of [false, true]) {
        const refusedRun = expectRuntoolsError(
          await call('POST', '/v1/run', { body: { agent: 'code-managed', prompt: 'Hello', stream } }),
          422,
          'model_unavailable',
        );
        expect(refusedRun.message).toContain("agent 'code-managed' uses model 'claude-sonnet-4'");
        expect(refusedRun.message).toContain('add an anthropic provider');
        expect(refusedRun.details).toEqual({ model: 'claude-sonnet-4', providerKind: 'anthropic' });
      }
      expect((await workspace.runs.list({ agent: 'code-assistant' })).data).toEqual([]);
      expect((await workspace.runs.list({ agent: 'code-managed' })).data).toEqual([]);

      // Once an anthropic provider exists, the upsert resolves to it without a warning for the model.
      await workspace.secrets.create({ name: 'ANTHROPIC_KEY', value: 'sk-ant-not-used-by-this-test' });
      await workspace.providers.create({
        name: 'claude',
        kind: 'anthropic',
        apiKey: { secret: 'ANTHROPIC_KEY' },
      });
      const changed = bodyOf(
        upsertResponseSchema,
        await call('POST', '/v1/agents', { body: { ...seedAgentBody, systemPrompt: 'Be brief.' } }),
      );
      expect(changed.data).toMatchObject({ id: created.id, action: 'updated', version: 2 });
      expect(changed.warnings.map((warning) => warning.code)).not.toContain('model_unavailable');

      const shown = await call('GET', '/v1/agents/code-assistant');
      expect(shown.status).toBe(200);
      expect(bodyOf(agentResponseSchema, shown).data).toMatchObject({
        id: created.id,
        slug: 'code-assistant',
        name: 'Code Assistant',
        model: 'claude-sonnet-4',
        runyardModel: 'claude/claude-sonnet-4',
        executionMode: 'in_sandbox',
        systemPrompt: 'Be brief.',
        toolsJson: seedAgentBody.tools,
        runyardTools: [],
        sandboxId: 'build-runner',
        targetDeviceId: null,
        configJson: { maxIterations: 25, maxTokens: 16384 },
        version: 2,
      });
    },
  );

  it.skipIf(skip)('runs an agent stored with an unserved model once a provider serves it', async () => {
    const key = await freshWorkspace(server(), 'runtools late provider');
    const call = runtoolsClient(server(), key);
    const workspace = server().client(key);
    const upserted = bodyOf(
      upsertResponseSchema,
      await call('POST', '/v1/agents', { body: { slug: 'house', model: 'house-model' } }),
    );
    expect(upserted.warnings).toEqual([
      {
        code: 'model_unavailable',
        field: 'model',
        message: expect.stringContaining(
          "add an openai-compatible provider whose models list 'house-model'",
        ) as unknown,
      },
    ]);
    const refused = expectRuntoolsError(
      await call('POST', '/v1/run', { body: { agent: 'house', prompt: 'hi', stream: false } }),
      422,
      'model_unavailable',
    );
    expect(refused.details).toEqual({ model: 'house-model', providerKind: 'openai-compatible' });

    // Through /v1 the stored model fails at once too: its provider does not exist.
    const direct = await workspace.runs.create('house', { input: 'hi', mode: 'wait' });
    expect(direct).toMatchObject({
      status: 'failed',
      error: {
        code: 'PROVIDER_ERROR',
        message: expect.stringContaining("no provider named 'openai-compatible'") as unknown,
      },
    });

    // A provider that lists the model (the runagents starter kit's playground provider, offline):
    // the next run resolves the model again, the agent takes it (version 2), and the run completes.
    expect(
      (
        await fetch(`${server().url}/compat/runagents/api/starter-kit`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(201);
    await workspace.providers.update('playground-llm', { models: ['playground', 'house-model'] });
    const ran = await call('POST', '/v1/run', { body: { agent: 'house', prompt: 'hi', stream: false } });
    expect(bodyOf(runResponseSchema, ran).data).toMatchObject({
      status: 'completed',
      result: 'You said: hi',
    });
    expect(await workspace.agents.get('house')).toMatchObject({
      model: 'playground-llm/house-model',
      version: 2,
      metadata: { runtools: { model: 'house-model', unservedModelKind: null } },
    });
  });

  it.skipIf(skip)(
    'runs without streaming: result, usage, iterations and a thread that remembers',
    async () => {
      const key = await freshWorkspace(server(), 'runtools wait');
      const call = runtoolsClient(server(), key);
      const workspace = server().client(key);
      const upserted = await call('POST', '/v1/agents', {
        body: { slug: 'helper', tools: ['echo', 'web_search'] },
      });
      expect(bodyOf(upsertResponseSchema, upserted).data).toMatchObject({
        action: 'created',
        version: 1,
        sandboxId: null,
      });
      const agent = await workspace.agents.get('helper');
      expect(agent).toMatchObject({ name: 'helper', model: 'playground/playground', tools: ['echo'] });

      const firstResponse = await call('POST', '/v1/run', {
        body: { agent: 'helper', prompt: 'my name is Ada', stream: false, metadata: { ticket: 7 } },
      });
      expect(firstResponse.status).toBe(200);
      const first = bodyOf(runResponseSchema, firstResponse).data;
      expect(first).toEqual({
        runId: expect.stringMatching(/^run_/) as unknown,
        sandboxId: null,
        executionMode: 'managed',
        status: 'completed',
        result: 'You said: my name is Ada',
        error: null,
        usage: { inputTokens: expect.any(Number) as unknown, outputTokens: expect.any(Number) as unknown },
        iterations: 1,
        threadId: expect.stringMatching(/^thr_/) as unknown,
      });
      expect(first.usage.inputTokens).toBeGreaterThan(0);
      expect(first.usage.outputTokens).toBeGreaterThan(0);
      expect(firstResponse.headers.get('x-run-id')).toBe(first.runId);
      expect(firstResponse.headers.get('x-thread-id')).toBe(first.threadId);
      const threadId = first.threadId ?? '';

      // The legacy per-agent endpoint, with a Bearer key, continues the thread.
      const secondResponse = await call('POST', '/v1/agents/helper/run', {
        bearer: true,
        body: { prompt: 'what is my name?', threadId, stream: false },
      });
      const second = bodyOf(runResponseSchema, secondResponse).data;
      expect(second).toMatchObject({ status: 'completed', threadId });
      expect(second.usage.inputTokens).toBeGreaterThan(first.usage.inputTokens);
      const messages = await workspace.threads.messages(threadId);
      expect(messages.data.map((message) => [message.role, message.runId])).toEqual([
        ['user', first.runId],
        ['assistant', first.runId],
        ['user', second.runId],
        ['assistant', second.runId],
      ]);
      const run = await workspace.runs.get(first.runId);
      expect(run).toMatchObject({ agentId: agent.id, agentVersion: 1, metadata: { ticket: 7 } });

      // Caller-managed `messages` without a threadId: no server-side thread.
      const managed = await call('POST', '/v1/run', {
        body: {
          agent: agent.id,
          messages: [
            { role: 'user', content: 'earlier question' },
            { role: 'assistant', content: 'earlier answer' },
            { role: 'user', content: [{ type: 'text', text: 'from my own history' }] },
          ],
          stream: false,
        },
      });
      expect(bodyOf(runResponseSchema, managed).data).toMatchObject({
        status: 'completed',
        result: 'You said: from my own history',
        threadId: null,
      });
      expect(managed.headers.get('x-thread-id')).toBeNull();
    },
  );

  it.skipIf(skip)('streams by default: X-Run-ID, X-Thread-ID and the run as runtools frames', async () => {
    const key = await freshWorkspace(server(), 'runtools stream');
    const call = runtoolsClient(server(), key);
    await call('POST', '/v1/agents', { body: { slug: 'helper', tools: ['echo'] } });

    const response = await call('POST', '/v1/agents/helper/run', {
      body: { prompt: 'use echo {"text":"hi"}' },
      headers: { accept: 'text/event-stream' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const runId = response.headers.get('x-run-id');
    const threadId = response.headers.get('x-thread-id');
    expect(runId).toMatch(/^run_/);
    expect(threadId).toMatch(/^thr_/);

    const frames = parseFrames(response.text);
    const names = frames.map((frame) => frame.event);
    expect(names.filter((name) => name !== 'assistant_message_delta')).toEqual([
      'run_started',
      'tool_call',
      'tool_result',
      'assistant_message',
      'run_completed',
    ]);
    // The deltas of the answer come after the tool result and before the whole answer.
    const deltas = names.flatMap((name, index) => (name === 'assistant_message_delta' ? [index] : []));
    expect(deltas.length).toBeGreaterThan(1);
    expect(Math.min(...deltas)).toBeGreaterThan(names.indexOf('tool_result'));
    expect(Math.max(...deltas)).toBeLessThan(names.indexOf('assistant_message'));

    expect(frames[0]?.data).toMatchObject({
      runId,
      threadId,
      model: 'playground/playground',
      agentVersion: 1,
    });
    const toolCall = frames.find((frame) => frame.event === 'tool_call');
    const toolResult = frames.find((frame) => frame.event === 'tool_result');
    expect(toolCall?.data).toMatchObject({ tool: 'echo', input: { text: 'hi' } });
    expect(toolResult?.data).toMatchObject({
      tool: 'echo',
      output: 'hi',
      isError: false,
      toolCallId: toolCall?.data.toolCallId,
    });
    const streamed = frames
      .filter((frame) => frame.event === 'assistant_message_delta')
      .map((frame) => String(frame.data.delta))
      .join('');
    expect(streamed).toBe('echo returned: hi');
    expect(frames.find((frame) => frame.event === 'assistant_message')?.data).toMatchObject({
      content: 'echo returned: hi',
    });
    expect(frames.at(-1)?.data).toEqual({
      runId,
      threadId,
      status: 'completed',
      result: 'echo returned: hi',
      error: null,
      usage: { inputTokens: expect.any(Number) as unknown, outputTokens: expect.any(Number) as unknown },
      iterations: 2,
    });

    // Every frame renders one event of the run's log, in log order.
    const log = await server()
      .client(key)
      .runs.events(runId ?? '');
    const ids = frames.map((frame) => frame.id ?? 0);
    expect(ids).toEqual([...ids].sort((left, right) => left - right));
    expect(ids.every((id) => log.some((event) => event.seq === id))).toBe(true);
    expect(log.find((event) => event.seq === frames.at(-1)?.id)?.type).toBe('run-end');
  });

  it.skipIf(skip)('applies config per run: maxTurns 1 with a tool call ends as MAX_ITERATIONS', async () => {
    const key = await freshWorkspace(server(), 'runtools config');
    const call = runtoolsClient(server(), key);
    await call('POST', '/v1/agents', { body: { slug: 'helper', tools: ['echo'], maxIterations: 5 } });

    const limited = await call('POST', '/v1/run', {
      body: {
        agent: 'helper',
        prompt: 'use echo {"text":"once"}',
        stream: false,
        config: { maxTurns: 1, maxTokens: 256, temperature: 0.2 },
      },
    });
    expect(limited.status).toBe(200);
    expect(bodyOf(runResponseSchema, limited).data).toMatchObject({
      status: 'failed',
      result: null,
      error: { code: 'max_iterations', message: expect.stringContaining('1 steps') as unknown },
      iterations: 1,
    });

    // Streamed, the same limit ends with an error frame, then run_completed (failed).
    const streamed = await call('POST', '/v1/run', {
      body: { agent: 'helper', prompt: 'use echo {"text":"twice"}', config: { maxTurns: 1 } },
    });
    const frames = parseFrames(streamed.text);
    expect(frames.slice(-2).map((frame) => [frame.event, frame.data.code ?? frame.data.status])).toEqual([
      ['error', 'max_iterations'],
      ['run_completed', 'failed'],
    ]);

    // The override was this run's only: the agent's own limit (5) still lets the tool call finish.
    const unlimited = await call('POST', '/v1/run', {
      body: { agent: 'helper', prompt: 'use echo {"text":"again"}', stream: false },
    });
    expect(bodyOf(runResponseSchema, unlimited).data).toMatchObject({
      status: 'completed',
      result: 'echo returned: again',
      iterations: 2,
    });
    expect((await server().client(key).agents.get('helper')).settings).toEqual({ maxIterations: 5 });

    const invalid = await call('POST', '/v1/run', {
      body: { agent: 'helper', prompt: 'x', stream: false, config: { maxTurns: 0 } },
    });
    expect(expectRuntoolsError(invalid, 400, 'bad_request').message).toContain('config.maxTurns');
  });

  it.skipIf(skip)('lists, shows and deletes agents in the data envelope', async () => {
    const key = await freshWorkspace(server(), 'runtools agents');
    const call = runtoolsClient(server(), key);
    await call('POST', '/v1/agents', {
      body: {
        slug: 'mac-helper',
        executionMode: 'local-mac',
        targetDeviceId: 'device-1',
        resources: [{ type: 'workspace', resourceId: 'ws-1', alias: 'notes' }],
        env: { MODE: 'test' },
        temperature: 0.5,
      },
    });
    await call('POST', '/v1/agents', { body: { slug: 'plain', model: 'playground/playground' } });

    const listed = bodyOf(agentListResponseSchema, await call('GET', '/v1/agents?limit=1'));
    expect(listed).toMatchObject({ hasMore: true, nextCursor: expect.any(String) as unknown });
    const rest = bodyOf(
      agentListResponseSchema,
      await call('GET', `/v1/agents?limit=1&cursor=${encodeURIComponent(listed.nextCursor ?? '')}`),
    );
    expect(rest).toMatchObject({ hasMore: false, nextCursor: null });
    expect([...listed.data, ...rest.data].map((agent) => agent.slug).sort()).toEqual(['mac-helper', 'plain']);

    const mac = bodyOf(agentResponseSchema, await call('GET', '/v1/agents/mac-helper')).data;
    expect(mac).toMatchObject({
      executionMode: 'local-mac',
      targetDeviceId: 'device-1',
      attachedResources: [{ type: 'workspace', resourceId: 'ws-1', alias: 'notes' }],
      envJson: { MODE: 'test' },
      configJson: { temperature: 0.5 },
      model: 'playground/playground',
    });
    const refused = await call('POST', '/v1/run', {
      body: { agent: 'mac-helper', prompt: 'hi', stream: false },
    });
    expectRuntoolsError(refused, 422, 'device_unavailable');

    const deleted = await call('DELETE', '/v1/agents/plain');
    expect(deleted.status).toBe(200);
    expect(bodyOf(deletedResponseSchema, deleted)).toEqual({
      data: { id: expect.stringMatching(/^agt_/) as unknown, slug: 'plain', deleted: true },
    });
    expectRuntoolsError(await call('GET', '/v1/agents/plain'), 404, 'not_found');
    expectRuntoolsError(await call('DELETE', '/v1/agents/plain'), 404, 'not_found');
  });
});
