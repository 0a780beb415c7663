import { describe, expect, it } from 'vitest';
import type { Run, RunEvent } from '@runyard/protocol';
import { BadRequestError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  eventsOf,
  journalOf,
  requestsOf,
  useModelMock,
} from '../support/model-path.ts';
import type { TestServer } from '../support/server.ts';
import { useTestServer } from '../support/use-server.ts';
import { waitUntil } from '../support/wait-until.ts';

const playground = 'playground/playground';
let names = 0;
const unique = (prefix: string) => `${prefix}-${(names += 1)}`;

/** A playground agent with these tools; returns its slug. */
async function agent(server: TestServer, tools: string[] = [], settings: Record<string, unknown> = {}) {
  const slug = unique('agent');
  await server.admin.agents.create({ slug, name: slug, model: playground, tools, settings });
  return slug;
}

/** An agent tool calling `target`; returns the tool's name. */
async function agentTool(server: TestServer, target: string): Promise<string> {
  const name = unique('ask');
  await server.admin.tools.create({ name, kind: 'agent', agent: target });
  return name;
}

/** `use <tool> {"input": <input>}`, the playground's way to call a tool. */
const call = (tool: string, input: string) => `use ${tool} ${JSON.stringify({ input })}`;

async function childrenOf(server: TestServer, parentId: string): Promise<Run[]> {
  return (await server.admin.runs.list({ parent: parentId })).data;
}

const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
  events.filter((event): event is Extract<RunEvent, { type: T }> => event.type === type);

describe.each(backendNames)('agent tools on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  const mock = useModelMock();
  let connected = false;
  /** The aimock providers, once per server. */
  const connect = async () => {
    if (!connected) await connectProviders(server(), mock().url);
    connected = true;
  };

  it.skipIf(skip)('registers an agent tool by slug, stores the id, refuses unknown agents', async () => {
    const { admin } = server();
    const child = await agent(server());
    const childAgent = await admin.agents.get(child);
    const tool = await admin.tools.create({ name: unique('helper'), kind: 'agent', agent: child });
    expect(tool).toMatchObject({
      kind: 'agent',
      builtIn: false,
      version: 1,
      config: { kind: 'agent', agent: childAgent.id, environment: null },
      operations: [
        {
          name: tool.name,
          inputSchema: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] },
        },
      ],
    });
    const unknown = await admin.tools
      .create({ name: unique('helper'), kind: 'agent', agent: 'nobody' })
      .catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(BadRequestError);
    expect((unknown as BadRequestError).details.issues).toEqual([
      expect.objectContaining({ path: 'agent' }) as unknown,
    ]);
    await expect(
      admin.tools.create({ name: unique('helper'), kind: 'agent', agent: child, baseUrl: 'http://x.test' }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('baseUrl') as unknown });
    await expect(admin.tools.create({ name: unique('helper'), kind: 'agent' })).rejects.toMatchObject({
      status: 400,
    });
    await expect(
      admin.tools.create({ name: unique('helper'), kind: 'agent', agent: child, environment: 'production' }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('production') as unknown });
    const changed = await admin.tools.update(tool.name, { description: 'Asks the helper.' });
    expect(changed).toMatchObject({
      version: 2,
      config: { agent: childAgent.id, description: 'Asks the helper.' },
    });
    // Directly, outside any run, an agent tool has no parent: a 400 saying so.
    await expect(admin.tools.invoke(tool.name, { input: { input: 'hi' } })).rejects.toMatchObject({
      status: 400,
    });
  });

  it.skipIf(skip)('runs the agent as a child run whose answer is the tool result', async () => {
    const { admin } = server();
    const child = await agent(server());
    const tool = await agentTool(server(), child);
    const parent = await agent(server(), [tool]);

    const run = await admin.runs.create(parent, { input: call(tool, 'hi') });
    expect(run).toMatchObject({ status: 'succeeded', parentRunId: null });
    expect(run.output?.text).toContain('You said: hi');

    const children = await childrenOf(server(), run.id);
    expect(children).toHaveLength(1);
    const [childRun] = children as [Run];
    expect(childRun).toMatchObject({
      status: 'succeeded',
      parentRunId: run.id,
      threadId: null,
      agentId: (await admin.agents.get(child)).id,
      output: { text: 'You said: hi' },
      input: [{ role: 'user', content: 'hi' }],
    });
    expect(await admin.runs.get(childRun.id)).toEqual(childRun);

    const events = await eventsOf(server(), run.id);
    const [result] = ofType(events, 'tool-result');
    expect(result).toMatchObject({ toolName: tool, output: 'You said: hi', isError: false });
    const [start] = ofType(events, 'child-run-start');
    const [end] = ofType(events, 'child-run-end');
    expect(start).toMatchObject({ runId: childRun.id, toolCallId: result?.toolCallId, step: 1 });
    expect(end).toMatchObject({
      runId: childRun.id,
      toolCallId: result?.toolCallId,
      status: 'succeeded',
      error: null,
      usage: childRun.usage,
      costUsd: childRun.costUsd,
    });
    // The child's events nest in order between its start and its end, without text deltas.
    const nested = ofType(events, 'child-event');
    expect(nested.map((event) => event.event.type)).toEqual([
      'run-start',
      'step-start',
      'step-end',
      'run-end',
    ]);
    expect(nested.every((event) => event.seq > (start?.seq ?? 0) && event.seq < (end?.seq ?? 0))).toBe(true);
    expect(end!.seq).toBeLessThan(result!.seq);

    // Usage rolls up: the parent's own steps plus its child's.
    const ownTokens = ofType(events, 'step-end').reduce((sum, event) => sum + event.usage.totalTokens, 0);
    expect(childRun.usage.totalTokens).toBeGreaterThan(0);
    expect(run.usage.totalTokens).toBe(ownTokens + childRun.usage.totalTokens);
    expect(ofType(events, 'run-end')[0]?.usage.totalTokens).toBe(run.usage.totalTokens);

    // The child is a normal run: its own complete log.
    const childEvents = await eventsOf(server(), childRun.id);
    expect(childEvents[0]).toMatchObject({ type: 'run-start', runId: childRun.id });
    expect(childEvents.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
    // ?parent= lists only children; the top-level run is not one.
    expect(await childrenOf(server(), childRun.id)).toEqual([]);
  });

  it.skipIf(skip)("the parent's budget counts its children", async () => {
    const { admin } = server();
    const child = await agent(server());
    const tool = await agentTool(server(), child);
    // The parent's first step costs about 60 tokens, the child's run about as many again.
    const parent = await agent(server(), [tool], { maxTokens: 100 });
    const run = await admin.runs.create(parent, { input: call(tool, 'hi') });
    const [childRun] = await childrenOf(server(), run.id);
    expect(childRun?.status).toBe('succeeded');
    expect(run).toMatchObject({ status: 'failed', error: { code: 'BUDGET_EXCEEDED' } });
    expect(run.usage.totalTokens).toBeGreaterThan(100);
  });

  it.skipIf(skip)('a failed child is an error result and the parent goes on', async () => {
    const { admin } = server();
    // One step only: asked to use a tool, the child cannot answer after it.
    const child = await agent(server(), ['echo'], { maxIterations: 1 });
    const tool = await agentTool(server(), child);
    const parent = await agent(server(), [tool]);
    const run = await admin.runs.create(parent, { input: call(tool, 'use echo {"text":"x"}') });
    expect(run.status).toBe('succeeded');
    const [childRun] = await childrenOf(server(), run.id);
    expect(childRun).toMatchObject({ status: 'failed', error: { code: 'MAX_ITERATIONS' } });
    const events = await eventsOf(server(), run.id);
    const [result] = ofType(events, 'tool-result');
    expect(result?.isError).toBe(true);
    expect(result?.output).toContain(`the agent's run ${childRun?.id} ended failed: MAX_ITERATIONS`);
    expect(ofType(events, 'child-run-end')[0]).toMatchObject({
      status: 'failed',
      error: { code: 'MAX_ITERATIONS' },
    });
    expect(run.output?.text).toContain('MAX_ITERATIONS');
  });

  it.skipIf(skip)('an agent calling itself stops at the depth limit', async () => {
    const { admin } = server();
    const slug = await agent(server());
    const tool = await agentTool(server(), slug);
    await admin.agents.update(slug, { tools: [tool] });
    let input = 'bottom';
    for (let level = 0; level < 8; level += 1) input = call(tool, input);
    const run = await admin.runs.create(slug, { input });
    expect(run.status).toBe('succeeded');

    const chain: Run[] = [run];
    for (;;) {
      const children = await childrenOf(server(), chain.at(-1)!.id);
      if (children.length === 0) break;
      expect(children).toHaveLength(1);
      chain.push(children[0]!);
    }
    // Depth 0 (the run) to 5: six runs, every one succeeded.
    expect(chain).toHaveLength(6);
    expect(chain.every((link) => link.status === 'succeeded')).toBe(true);
    const deepest = await eventsOf(server(), chain.at(-1)!.id);
    const [refused] = ofType(deepest, 'tool-result');
    expect(refused).toMatchObject({ isError: true });
    expect(refused?.output).toContain('nest at most 5 runs deep');
    // Every level's usage holds its descendants'.
    for (let level = 0; level < chain.length - 1; level += 1) {
      expect(chain[level]!.usage.totalTokens).toBeGreaterThan(chain[level + 1]!.usage.totalTokens);
    }
  });

  it.skipIf(skip)(
    'cancelling the parent cancels its child; cancelling a child fails only its call',
    async () => {
      const { admin } = server();
      await connect();
      const model = unique('slow-child');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      mock().on({ model }, async () => {
        await released;
        return { content: 'Too late.' };
      });
      const child = unique('slow');
      await admin.agents.create({ slug: child, name: child, model: `openai/${model}` });
      const tool = await agentTool(server(), child);
      const parent = await agent(server(), [tool]);
      try {
        const run = await admin.runs.create(parent, { input: call(tool, 'wait'), mode: 'background' });
        const [childRun] = await waitUntil(() => childrenOf(server(), run.id), {
          what: 'the child run',
          until: (children) => children.length === 1,
        });
        await admin.runs.cancel(run.id);
        const ended = await waitUntil(() => admin.runs.get(run.id), {
          what: 'the parent run to end',
          until: (current) => current.status !== 'running' && current.status !== 'queued',
        });
        expect(ended.status).toBe('cancelled');
        expect(await admin.runs.get(childRun!.id)).toMatchObject({
          status: 'cancelled',
          error: { code: 'CANCELLED' },
        });

        // A child cancelled on its own: its parent's call fails, the parent answers anyway.
        const second = await admin.runs.create(parent, { input: call(tool, 'wait'), mode: 'background' });
        const [secondChild] = await waitUntil(() => childrenOf(server(), second.id), {
          what: 'the running child run',
          until: (children) => children.length === 1 && children[0]?.status === 'running',
        });
        await admin.runs.cancel(secondChild!.id);
        const done = await waitUntil(() => admin.runs.get(second.id), {
          what: 'the parent run to end',
          until: (current) => current.status === 'succeeded' || current.status === 'failed',
        });
        expect(done.status).toBe('succeeded');
        expect(done.output?.text).toContain('ended cancelled');
      } finally {
        release();
      }
    },
  );

  it.skipIf(skip)("the parent's model receives the child's answer", async () => {
    const { admin } = server();
    await connect();
    const model = unique('parent-model');
    mock().on({ model, predicate: afterToolResult }, { content: 'The helper agreed.' });
    mock().on(
      { model },
      { toolCalls: [{ id: 'call_helper_1', name: 'helper_agent', arguments: { input: 'hi there' } }] },
    );
    const child = await agent(server());
    await admin.tools.create({ name: 'helper_agent', kind: 'agent', agent: child });
    const parent = unique('parent');
    await admin.agents.create({
      slug: parent,
      name: parent,
      model: `openai/${model}`,
      tools: ['helper_agent'],
    });

    const run = await admin.runs.create(parent, { input: 'Ask the helper.' });
    expect(run).toMatchObject({ status: 'succeeded', output: { text: 'The helper agreed.' } });
    expect(journalOf(mock(), model)).toHaveLength(2);
    const second = requestsOf(mock(), model)[1];
    const toolMessage = second?.messages.at(-1);
    expect(toolMessage).toMatchObject({ role: 'tool', tool_call_id: 'call_helper_1' });
    expect(JSON.stringify(toolMessage?.content)).toContain('You said: hi there');
    // The first request offered the agent tool with its {input} schema.
    const offered = requestsOf(mock(), model)[0]?.tools?.find(
      (item) => item.function.name === 'helper_agent',
    );
    expect(offered?.function.parameters).toMatchObject({ required: ['input'] });
  });
});
