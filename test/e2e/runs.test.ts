import { describe, expect, it } from 'vitest';
import { routes, type RunEvent } from '@runyard/protocol';
import { BadRequestError, NotFoundError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

describe.each(backendNames)('runs of the playground model on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  let created = false;
  const agent = async () => {
    if (!created) {
      created = true;
      await server().admin.agents.create({
        slug: 'helper',
        name: 'Helper',
        model: 'playground/playground',
        instructions: 'Help.',
        tools: ['echo', 'current_time'],
      });
    }
    return 'helper';
  };

  it.skipIf(skip)('waits for a run that calls a tool and stores the turn in its thread', async () => {
    const { admin } = server();
    const run = await admin.runs.create(await agent(), { input: 'use echo {"text":"hi there"}' });
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { text: 'echo returned: hi there' },
      error: null,
      iterations: 2,
      agentVersion: 1,
    });
    expect(run.id).toMatch(/^run_/);
    expect(run.usage.inputTokens).toBeGreaterThan(0);
    expect(run.usage.totalTokens).toBe(run.usage.inputTokens + run.usage.outputTokens);
    expect(run.durationMs).toBeGreaterThanOrEqual(0);
    expect(run.threadId).toMatch(/^thr_/);

    const messages = await admin.threads.messages(run.threadId ?? '');
    expect(messages.data.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(messages.data[1]?.content).toEqual([
      {
        type: 'tool-call',
        toolCallId: expect.any(String) as unknown,
        toolName: 'echo',
        input: { text: 'hi there' },
      },
    ]);
    expect(messages.data[2]?.content).toEqual([
      expect.objectContaining({ type: 'tool-result', toolName: 'echo', output: 'hi there', isError: false }),
    ]);
    expect(messages.data.every((message) => message.runId === run.id)).toBe(true);
    expect(await admin.runs.get(run.id)).toEqual(run);
  });

  it.skipIf(skip)('streams the event log in order and it equals the stored log', async () => {
    const { admin } = server();
    const events = await collect(admin.runs.stream(await agent(), { input: 'stream these words please' }));
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    const types = events.map((event) => event.type);
    expect(types[0]).toBe('run-start');
    expect(types.at(-1)).toBe('run-end');
    expect(types).toEqual(expect.arrayContaining(['step-start', 'text-delta', 'step-end', 'usage']));
    const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.delta] : [])).join('');
    expect(text).toBe('You said: stream these words please');
    const end = events.at(-1);
    expect(end).toMatchObject({ type: 'run-end', status: 'succeeded', output: { text } });
    const runId = events[0]?.type === 'run-start' ? events[0].runId : '';
    expect(await admin.runs.events(runId)).toEqual(events);
  });

  it.skipIf(skip)('resumes the stream after any event, by Last-Event-ID or ?after', async () => {
    const { admin, url, adminKey } = server();
    const run = await admin.runs.create(await agent(), { input: 'use echo {"text":"resume"}' });
    const full = await admin.runs.events(run.id);
    expect(full.length).toBeGreaterThan(8);
    for (const after of [0, 1, 3, Math.floor(full.length / 2), full.length - 1, full.length]) {
      expect(await collect(admin.runs.follow(run.id, after))).toEqual(full.slice(after));
      expect(await admin.runs.events(run.id, { after })).toEqual(full.slice(after));
    }
    const raw = await fetch(`${url}/v1/runs/${run.id}/stream?after=2`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(raw.headers.get('content-type')).toContain('text/event-stream');
    const ids = [...(await raw.text()).matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
    expect(ids).toEqual(full.slice(2).map((event) => event.seq));
  });

  it.skipIf(skip)('runs in the background: 202 at once, then the run can be followed', async () => {
    const { admin } = server();
    const response = await admin.transport.call(routes.createAgentRun, {
      params: { idOrSlug: await agent() },
      body: { input: 'in the background', mode: 'background', metadata: { ticket: 7 } },
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-run-id')).toBe(response.data.id);
    expect(['queued', 'running', 'succeeded']).toContain(response.data.status);
    const events = await collect(admin.runs.follow(response.data.id));
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
    const run = await admin.runs.get(response.data.id);
    expect(run).toMatchObject({
      status: 'succeeded',
      metadata: { ticket: 7 },
      output: { text: 'You said: in the background' },
    });
    // Cancelling an ended run changes nothing.
    expect(await admin.runs.cancel(run.id)).toEqual(run);
  });

  it.skipIf(skip)('remembers a thread: a second run sends the history to the model', async () => {
    const { admin } = server();
    const first = await admin.runs.create(await agent(), { input: 'my name is Ada' });
    const second = await admin.runs.create(await agent(), {
      input: 'what is my name?',
      threadId: first.threadId ?? '',
    });
    expect(second.threadId).toBe(first.threadId);
    expect(second.usage.inputTokens).toBeGreaterThan(first.usage.inputTokens);
    const messages = await admin.threads.messages(first.threadId ?? '');
    expect(messages.data.map((message) => [message.role, message.runId])).toEqual([
      ['user', first.id],
      ['assistant', first.id],
      ['user', second.id],
      ['assistant', second.id],
    ]);
    const stateless = await admin.runs.create(await agent(), { input: 'forget me', stateless: true });
    expect(stateless.threadId).toBeNull();
    const byThread = await admin.runs.list({ thread: first.threadId ?? '' });
    expect(byThread.data.map((run) => run.id)).toEqual([second.id, first.id]);
  });

  it.skipIf(skip)(
    'picks production, else the newest version; or the environment or version asked for',
    async () => {
      const { admin } = server();
      await admin.agents.create({
        slug: 'versions',
        name: 'V',
        model: 'playground/playground',
        instructions: 'one',
      });
      expect((await admin.runs.create('versions', { input: 'x' })).agentVersion).toBe(1);
      await admin.agents.update('versions', { instructions: 'two' });
      expect((await admin.runs.create('versions', { input: 'x' })).agentVersion).toBe(2);
      await admin.agents.promote('versions', { version: 1, environment: 'production' });
      expect((await admin.runs.create('versions', { input: 'x' })).agentVersion).toBe(1);
      expect((await admin.runs.create('versions', { input: 'x', environment: 'draft' })).agentVersion).toBe(
        2,
      );
      expect((await admin.runs.create('versions', { input: 'x', version: 2 })).agentVersion).toBe(2);
      const staging = await admin.runs
        .create('versions', { input: 'x', environment: 'staging' })
        .catch((error: unknown) => error);
      expect(staging).toBeInstanceOf(BadRequestError);
      expect((staging as BadRequestError).details.issues).toEqual([
        expect.objectContaining({ path: 'environment' }),
      ]);
      await expect(admin.runs.create('versions', { input: 'x', version: 9 })).rejects.toBeInstanceOf(
        BadRequestError,
      );
      await expect(admin.runs.create('nobody', { input: 'x' })).rejects.toBeInstanceOf(NotFoundError);
      await expect(
        admin.runs.create('versions', { input: 'x', threadId: 'thr_00000000000000000000000000' }),
      ).rejects.toBeInstanceOf(NotFoundError);
      const byAgent = await admin.runs.list({ agent: 'versions', status: 'succeeded' });
      expect(byAgent.data).toHaveLength(5);
    },
  );

  it.skipIf(skip)('answers JSON that fits the output schema, and ends runs over their limits', async () => {
    const { admin } = server();
    await admin.agents.create({
      slug: 'structured-run',
      name: 'S',
      model: 'playground/playground',
      outputSchema: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] },
    });
    const structured = await admin.runs.create('structured-run', { input: 'short' });
    expect(structured.status).toBe('succeeded');
    expect(structured.output?.object).toEqual({ summary: 'short' });

    await admin.agents.create({
      slug: 'limited',
      name: 'L',
      model: 'playground/playground',
      tools: ['echo'],
      settings: { maxIterations: 1 },
    });
    const limited = await admin.runs.create('limited', { input: 'use echo {"text":"x"}' });
    expect(limited).toMatchObject({ status: 'failed', error: { code: 'MAX_ITERATIONS' }, iterations: 1 });
    const events = await admin.runs.events(limited.id);
    expect(events.at(-1)).toMatchObject({
      type: 'run-end',
      status: 'failed',
      error: { code: 'MAX_ITERATIONS' },
    });

    await admin.agents.create({
      slug: 'thrifty',
      name: 'T',
      model: 'playground/playground',
      settings: { maxTokens: 3 },
    });
    expect(await admin.runs.create('thrifty', { input: 'a long enough question' })).toMatchObject({
      status: 'failed',
      error: { code: 'BUDGET_EXCEEDED' },
    });
  });

  it.skipIf(skip)('tells the model about unknown tools and bad arguments instead of failing', async () => {
    const { admin } = server();
    const unknown = await admin.runs.create(await agent(), { input: 'use nonexistent {"a":1}' });
    expect(unknown.status).toBe('succeeded');
    expect(unknown.output?.text).toContain("unknown tool 'nonexistent'");
    const invalid = await admin.runs.create(await agent(), { input: 'use echo {"txt":"x"}' });
    expect(invalid.status).toBe('succeeded');
    expect(invalid.output?.text).toContain('echo failed: invalid arguments');
    expect(invalid.output?.text).toContain("- (root): must have required property 'text'");
  });
});
