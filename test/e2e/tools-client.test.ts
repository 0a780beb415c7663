import { sleep, type Run, type RunEvent } from '@runyard/protocol';
import type { Runyard } from '@runyard/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  conversationOf,
  requestsOf,
  useModelMock,
} from '../support/model-path.ts';
import { useTestServer } from '../support/use-server.ts';
import { endedRunStatuses, waitForRunStatus } from '../support/wait-until.ts';

const mock = useModelMock();

const weatherSchema = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
  additionalProperties: false,
};

/** A client tool `name` and a playground agent `slug` that may call it. */
async function clientAgent(client: Runyard, name: string, slug: string, model = 'playground/playground') {
  await client.tools.create({
    name,
    kind: 'client',
    description: 'The weather where the caller is.',
    inputSchema: weatherSchema,
  });
  await client.agents.create({ slug, name: slug, model, tools: [name] });
}

const toolCallIdsOf = (run: Run): string[] =>
  run.requiredAction?.type === 'tool_outputs'
    ? run.requiredAction.toolCalls.map((call) => call.toolCallId)
    : [];

describe.each(backendNames)('client tools on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)(
    'registers with its inputSchema as its one operation; bad definitions are 400s',
    async () => {
      const { admin } = server();
      const tool = await admin.tools.create({
        name: 'weather',
        kind: 'client',
        description: 'The weather where the caller is.',
        inputSchema: weatherSchema,
      });
      expect(tool).toMatchObject({
        name: 'weather',
        kind: 'client',
        builtIn: false,
        version: 1,
        description: 'The weather where the caller is.',
        config: {
          kind: 'client',
          description: 'The weather where the caller is.',
          inputSchema: weatherSchema,
        },
        operations: [
          { name: 'weather', description: 'The weather where the caller is.', inputSchema: weatherSchema },
        ],
      });
      expect(await admin.tools.get('weather')).toEqual(tool);
      const changed = await admin.tools.update('weather', { description: 'Local weather.' });
      expect(changed).toMatchObject({ version: 2, config: { description: 'Local weather.' } });
      expect((await admin.tools.versions('weather')).map((version) => version.version)).toEqual([2, 1]);
      // The same definition again creates no version.
      expect(await admin.tools.update('weather', { description: 'Local weather.' })).toMatchObject({
        version: 2,
      });
      await expect(admin.tools.update('weather', { inputSchema: null })).rejects.toMatchObject({
        status: 400,
        details: { issues: [{ path: 'inputSchema' }] },
      });

      const fieldOf = async (body: Record<string, unknown>) => {
        const error = (await admin.tools.create({ name: 'broken', kind: 'client', ...body }).then(
          () => undefined,
          (reason: unknown) => reason,
        )) as { status: number; details: { issues: { path: string }[] } } | undefined;
        expect(error?.status).toBe(400);
        return error?.details.issues[0]?.path;
      };
      expect(await fieldOf({})).toBe('inputSchema');
      expect(await fieldOf({ inputSchema: { type: 'string' } })).toBe('inputSchema');
      expect(await fieldOf({ inputSchema: { type: 'object', properties: 5 } })).toBe('inputSchema');
      expect(await fieldOf({ inputSchema: weatherSchema, baseUrl: 'https://example.com' })).toBe('baseUrl');
      expect(await fieldOf({ inputSchema: weatherSchema, method: 'POST' })).toBe('method');
      expect(await fieldOf({ inputSchema: weatherSchema, auth: { type: 'none' } })).toBe('auth');
      expect(await fieldOf({ inputSchema: weatherSchema, transport: 'stdio' })).toBe('transport');
      expect(await fieldOf({ inputSchema: weatherSchema, agent: 'helper' })).toBe('agent');
      await expect(admin.tools.get('broken')).rejects.toMatchObject({ status: 404 });

      // Invoking it directly: there is no caller to execute it.
      await expect(admin.tools.invoke('weather', { city: 'Oslo' })).rejects.toMatchObject({
        status: 400,
        message: expect.stringContaining('executed by the caller') as unknown,
      });
    },
  );

  it.skipIf(skip)('pauses for two parallel calls and resumes once both outputs are in', async () => {
    const { admin } = server();
    await clientAgent(admin, 'lookup', 'looker');
    const paused = await admin.runs.create('looker', {
      input: 'How is it? use lookup {"city":"Paris"} use lookup {"city":"Rome"}',
    });
    expect(paused.status).toBe('requires_action');
    expect(paused.requiredAction?.type).toBe('tool_outputs');
    const calls = paused.requiredAction?.type === 'tool_outputs' ? paused.requiredAction.toolCalls : [];
    // The calls run in parallel: the order of the list is not the order of the calls.
    const byCity = (city: string) =>
      calls.find((call) => (call.input as { city?: unknown }).city === city)?.toolCallId;
    expect(calls).toHaveLength(2);
    expect(calls.every((call) => call.toolName === 'lookup')).toBe(true);
    const paris = byCity('Paris');
    const rome = byCity('Rome');
    expect(paris).toBeTruthy();
    expect(rome).toBeTruthy();
    expect(paris).not.toBe(rome);
    // GET shows the same, and the log says what is asked.
    const got = await admin.runs.get(paused.id);
    expect(got).toMatchObject({ status: 'requires_action', requiredAction: paused.requiredAction });
    const requested = (await admin.runs.events(paused.id)).filter(
      (event) => event.type === 'tool-outputs-requested',
    );
    expect(requested).toMatchObject([{ toolCallIds: calls.map((call) => call.toolCallId), calls }]);
    expect((await admin.runs.events(paused.id)).some((event) => event.type === 'tool-result')).toBe(false);

    // One of two: the run still waits, for the other only.
    const half = await admin.runs.submitToolOutputs(paused.id, {
      outputs: [{ toolCallId: paris!, output: { temperature: 21, sky: 'clear' } }],
    });
    expect(half.status).toBe('requires_action');
    expect(toolCallIdsOf(half)).toEqual([rome]);
    await sleep(150);
    const still = await admin.runs.get(paused.id);
    expect(still.status).toBe('requires_action');
    expect(toolCallIdsOf(still)).toEqual([rome]);
    // The one already given is no longer waited for.
    await expect(
      admin.runs.submitToolOutputs(paused.id, { outputs: [{ toolCallId: paris!, output: 'again' }] }),
    ).rejects.toMatchObject({ status: 400, details: { issues: [{ path: 'outputs.0.toolCallId' }] } });

    await admin.runs.submitToolOutputs(paused.id, { outputs: [{ toolCallId: rome!, output: 'rainy' }] });
    const ended = await waitForRunStatus(admin, paused.id, endedRunStatuses);
    expect(ended.status).toBe('succeeded');
    expect(ended.requiredAction).toBeNull();
    expect(ended.output?.text).toBe(
      'lookup returned: {"temperature":21,"sky":"clear"}\nlookup returned: rainy',
    );

    const events = await admin.runs.events(paused.id);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    const results = events.filter((event) => event.type === 'tool-result');
    expect(results).toMatchObject([
      { toolCallId: paris, toolName: 'lookup', output: { temperature: 21, sky: 'clear' }, isError: false },
      { toolCallId: rome, toolName: 'lookup', output: 'rainy', isError: false },
    ]);
    // The resumed step took the outputs from the journal: no call ran again, no result twice.
    expect(events.filter((event) => event.type === 'tool-outputs-requested')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
  });

  it.skipIf(skip)(
    'bad outputs: unknown or repeated ids are 400s, a run that does not wait is a 409',
    async () => {
      const { admin } = server();
      await clientAgent(admin, 'probe', 'prober');
      const paused = await admin.runs.create('prober', { input: 'use probe {"city":"Oslo"}' });
      expect(paused.status).toBe('requires_action');
      const [callId] = toolCallIdsOf(paused);
      await expect(
        admin.runs.submitToolOutputs(paused.id, { outputs: [{ toolCallId: 'call_nobody', output: 1 }] }),
      ).rejects.toMatchObject({ status: 400, details: { issues: [{ path: 'outputs.0.toolCallId' }] } });
      await expect(
        admin.runs.submitToolOutputs(paused.id, {
          outputs: [
            { toolCallId: callId!, output: 1 },
            { toolCallId: callId!, output: 2 },
          ],
        }),
      ).rejects.toMatchObject({ status: 400, details: { issues: [{ path: 'outputs.1.toolCallId' }] } });
      // Neither wrote anything.
      expect((await admin.runs.get(paused.id)).status).toBe('requires_action');
      expect((await admin.runs.events(paused.id)).some((event) => event.type === 'tool-result')).toBe(false);

      // An error output is the model's to read, as a failed tool.
      await admin.runs.submitToolOutputs(paused.id, {
        outputs: [{ toolCallId: callId!, output: 'no GPS fix', isError: true }],
      });
      const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed']);
      expect(ended).toMatchObject({ status: 'succeeded', output: { text: 'probe failed: no GPS fix' } });
      await expect(
        admin.runs.submitToolOutputs(paused.id, { outputs: [{ toolCallId: callId!, output: 1 }] }),
      ).rejects.toMatchObject({ status: 409 });
      await expect(
        admin.runs.submitToolOutputs('run_00000000000000000000000000', {
          outputs: [{ toolCallId: callId!, output: 1 }],
        }),
      ).rejects.toMatchObject({ status: 404 });
    },
  );

  it.skipIf(skip)('an SSE stream stays open across the pause, in one seq sequence', async () => {
    const { admin } = server();
    await clientAgent(admin, 'locate', 'locator');
    const seen: RunEvent[] = [];
    let runId = '';
    for await (const event of admin.runs.stream('locator', { input: 'use locate {"city":"Lima"}' })) {
      seen.push(event);
      if (event.type === 'run-start') runId = event.runId;
      if (event.type === 'tool-outputs-requested') {
        await admin.runs.submitToolOutputs(runId, {
          outputs: event.toolCallIds.map((toolCallId) => ({ toolCallId, output: 'foggy' })),
        });
      }
    }
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index + 1));
    const types = seen.map((event) => event.type);
    expect(types.indexOf('tool-outputs-requested')).toBeGreaterThan(-1);
    expect(types.indexOf('tool-outputs-requested')).toBeLessThan(types.indexOf('tool-result'));
    expect(types.at(-1)).toBe('run-end');
    expect(seen.at(-1)).toMatchObject({ status: 'succeeded', output: { text: 'locate returned: foggy' } });
    expect(seen.find((event) => event.type === 'tool-result')).toMatchObject({
      toolName: 'locate',
      output: 'foggy',
    });
  });

  describe('with a model over HTTP', () => {
    beforeAll(async () => {
      if (!skip) await connectProviders(server(), mock().url);
    });

    it.skipIf(skip)("sends the caller's output to the model as the tool message", async () => {
      const { admin } = server();
      const model = `gpt-client-tool-${backend}`;
      mock().on({ model, predicate: afterToolResult }, { content: 'It is 3 degrees in Oslo.' });
      mock().on(
        { model },
        { toolCalls: [{ id: 'call_client_1', name: 'forecast', arguments: { city: 'Oslo' } }] },
      );
      await clientAgent(admin, 'forecast', 'forecaster', `openai/${model}`);
      const paused = await admin.runs.create('forecaster', { input: 'How cold is it in Oslo?' });
      expect(paused).toMatchObject({
        status: 'requires_action',
        requiredAction: {
          type: 'tool_outputs',
          toolCalls: [{ toolCallId: 'call_client_1', toolName: 'forecast', input: { city: 'Oslo' } }],
        },
      });
      expect(requestsOf(mock(), model)).toHaveLength(1);

      await admin.runs.submitToolOutputs(paused.id, {
        outputs: [{ toolCallId: 'call_client_1', output: { celsius: 3 } }],
      });
      const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed']);
      expect(ended).toMatchObject({ status: 'succeeded', output: { text: 'It is 3 degrees in Oslo.' } });

      const requests = requestsOf(mock(), model);
      expect(requests).toHaveLength(2);
      // The model was shown the tool as registered.
      expect(requests[0]?.tools).toEqual([
        {
          type: 'function',
          function: {
            name: 'forecast',
            description: 'The weather where the caller is.',
            parameters: weatherSchema,
          },
        },
      ]);
      const conversation = conversationOf(requests[1]);
      expect(conversation.at(-1)).toEqual({
        role: 'tool',
        tool_call_id: 'call_client_1',
        content: '{"celsius":3}',
      });
      expect(conversation.at(-2)).toMatchObject({
        role: 'assistant',
        tool_calls: [{ id: 'call_client_1', function: { name: 'forecast', arguments: '{"city":"Oslo"}' } }],
      });
    });
  });
});
