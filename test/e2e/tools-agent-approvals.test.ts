import { sleep, type Run, type RunEvent } from '@runyard/protocol';
import type { Runyard } from '@runyard/sdk';
import { describe, expect, it } from 'vitest';
import { approvalAgent } from '../support/approval-agent.ts';
import { waitForRunStatus, waitUntil } from '../support/wait-until.ts';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { useCleanups, type Gate } from '../support/harness.ts';
import { connectProviders, useModelMock } from '../support/model-path.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { unusedCredentials, useToolServer } from '../support/tool-server.ts';
import { useTestServer } from '../support/use-server.ts';

/**
 * Approvals inside child runs (docs/architecture/approvals.md#child-runs): a parent agent whose
 * agent tool runs a child agent whose `http_fetch` call needs approval. The parent pauses with the
 * child, lists and logs the child's approval, and a decision resumes the whole chain.
 */

const toolServer = useToolServer(unusedCredentials);

const { gate } = useCleanups();

let names = 0;
const unique = (prefix: string) => `${prefix}-${(names += 1)}`;

/** `use <tool> {"input": <input>}`, the playground's way to call an agent tool. */
const call = (tool: string, input: string) => `use ${tool} ${JSON.stringify({ input })}`;

/** What the leaf agent is told: fetch this path of the tool server (which needs approval). */
const fetchInput = (path: string) => `use http_fetch {"url":"${toolServer().url}${path}"}`;

/**
 * A chain of playground agents: the leaf calls `http_fetch` under the `guarded` policy, and each
 * of the `depth` agents above it calls the one below through an agent tool. Returns the top
 * agent's slug and the input that makes every level call the next one, down to `path`.
 */
async function agentChain(
  admin: Runyard,
  path: string,
  depth = 1,
  /** More tools of the top agent. */
  topTools: string[] = [],
): Promise<{ top: string; input: string }> {
  let below = unique('leaf');
  await approvalAgent(admin, { slug: below, target: toolServer().url });
  let input = fetchInput(path);
  for (let level = 0; level < depth; level += 1) {
    const tool = unique('ask');
    await admin.tools.create({ name: tool, kind: 'agent', agent: below });
    below = unique('parent');
    const tools = level === depth - 1 ? [tool, ...topTools] : [tool];
    await admin.agents.create({ slug: below, name: below, model: 'playground/playground', tools });
    input = call(tool, input);
  }
  return { top: below, input };
}

/** The runs of a chain from the top-level run down, each the only child of the one above. */
async function chainOf(admin: Runyard, run: Run): Promise<Run[]> {
  const chain = [run];
  for (;;) {
    const children = (await admin.runs.list({ parent: chain.at(-1)!.id })).data;
    if (children.length === 0) return chain;
    expect(children).toHaveLength(1);
    chain.push(children[0]!);
  }
}

const ofType = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
  events.filter((event): event is Extract<RunEvent, { type: T }> => event.type === type);

/** Every run's log is one seq sequence without gaps, whatever pauses and resumes it went through. */
async function expectGaplessLogs(admin: Runyard, runs: Run[]): Promise<void> {
  for (const run of runs) {
    const events = await admin.runs.events(run.id);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(ofType(events, 'run-start')).toHaveLength(1);
    expect(ofType(events, 'run-end')).toHaveLength(1);
  }
}

describe.each(backendNames)('approvals in child runs on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  const mock = useModelMock();

  it.skipIf(skip)(
    'the parent pauses with its child and shows the approval; approve → both finish',
    async () => {
      const { admin } = server();
      const { top, input } = await agentChain(admin, `/echo/approved-${backend}`);
      const paused = await admin.runs.create(top, { input });
      expect(paused.status).toBe('requires_action');
      const [, child] = (await chainOf(admin, paused)) as [Run, Run];
      expect(child).toMatchObject({ status: 'requires_action', parentRunId: paused.id });
      expect(toolServer().hits(`/echo/approved-${backend}`)).toBe(0);

      // Listed under the parent, though it is the child's call.
      const listed = (await admin.approvals.list({ runId: paused.id, status: 'pending' })).data;
      expect(listed).toHaveLength(1);
      const approval = listed[0]!;
      expect(approval).toMatchObject({ runId: child.id, toolName: 'http_fetch', status: 'pending' });
      expect(paused.requiredAction).toEqual({ type: 'approval', approvals: [approval.id] });
      expect(child.requiredAction).toEqual({ type: 'approval', approvals: [approval.id] });

      // The parent's log shows it twice: forwarded from the child's, and as what the parent waits for.
      const events = await admin.runs.events(paused.id);
      const forwarded = ofType(events, 'child-event').find(
        (event) => event.event.type === 'approval-requested',
      );
      expect(forwarded).toMatchObject({ runId: child.id, event: { approvalId: approval.id } });
      expect(ofType(events, 'approval-requested')).toEqual([
        expect.objectContaining({ approvalId: approval.id, runId: child.id, toolName: 'http_fetch' }),
      ]);
      expect(ofType(events, 'child-run-end')).toEqual([]);

      await admin.approvals.approve(approval.id);
      const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed', 'cancelled']);
      const [, finishedChild] = (await chainOf(admin, ended)) as [Run, Run];
      expect(finishedChild).toMatchObject({ id: child.id, status: 'succeeded', requiredAction: null });
      expect(toolServer().hits(`/echo/approved-${backend}`)).toBe(1);
      // The child's answer (what the tool returned) reached the parent's model, which repeats it.
      expect(finishedChild.output?.text).toContain('http_fetch returned');
      expect(ended).toMatchObject({ status: 'succeeded', requiredAction: null });
      expect(ended.output?.text).toContain(finishedChild.output!.text);

      const after = await admin.runs.events(paused.id);
      expect(ofType(after, 'approval-decided')).toEqual([
        expect.objectContaining({ approvalId: approval.id, runId: child.id, status: 'approved' }),
      ]);
      expect(ofType(after, 'child-run-start')).toHaveLength(1);
      expect(ofType(after, 'child-run-end')).toEqual([
        expect.objectContaining({ runId: child.id, status: 'succeeded' }),
      ]);
      // The resumed child's events are forwarded too, its fetch's result among them.
      expect(
        ofType(after, 'child-event').some(
          (event) => event.event.type === 'tool-result' && event.event.isError === false,
        ),
      ).toBe(true);
      await expectGaplessLogs(admin, [ended, finishedChild]);
    },
  );

  it.skipIf(skip)("deny: the child's model reads the reason and the chain completes", async () => {
    const { admin } = server();
    const { top, input } = await agentChain(admin, `/echo/denied-${backend}`);
    const paused = await admin.runs.create(top, { input });
    const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
    await admin.approvals.deny(approval!.id, { reason: 'not this month' });
    const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed', 'cancelled']);
    expect(ended.status).toBe('succeeded');
    expect(toolServer().hits(`/echo/denied-${backend}`)).toBe(0);
    const [, child] = (await chainOf(admin, ended)) as [Run, Run];
    expect(child.status).toBe('succeeded');
    const [result] = ofType(await admin.runs.events(child.id), 'tool-result');
    expect(result).toMatchObject({ isError: true });
    expect(result?.output).toContain("a human denied this call of 'http_fetch': not this month");
    // The playground repeats the tool result it was given: the child's model read the reason.
    expect(child.output?.text).toContain('not this month');
    expect(ended.output?.text).toContain('not this month');
  });

  it.skipIf(skip)(
    "an SSE client of the parent sees the child's approval and the run to its end",
    async () => {
      const { admin } = server();
      const { top, input } = await agentChain(admin, `/echo/streamed-${backend}`);
      const seen: RunEvent[] = [];
      for await (const event of admin.runs.stream(top, { input })) {
        seen.push(event);
        if (event.type === 'approval-requested') await admin.approvals.approve(event.approvalId);
      }
      expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index + 1));
      const types = seen.map((event) => event.type);
      const forwarded = seen.findIndex(
        (event) => event.type === 'child-event' && event.event.type === 'approval-requested',
      );
      expect(forwarded).toBeGreaterThan(-1);
      expect(forwarded).toBeLessThan(types.indexOf('approval-requested'));
      expect(types.indexOf('approval-requested')).toBeLessThan(types.indexOf('approval-decided'));
      expect(seen.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
      expect(toolServer().hits(`/echo/streamed-${backend}`)).toBe(1);
    },
  );

  it.skipIf(skip)('a grandchild pauses its whole chain; one approval resumes all three', async () => {
    const { admin } = server();
    const { top, input } = await agentChain(admin, `/echo/deep-${backend}`, 2);
    const paused = await admin.runs.create(top, { input });
    expect(paused.status).toBe('requires_action');
    const chain = await chainOf(admin, paused);
    expect(chain.map((run) => run.status)).toEqual(['requires_action', 'requires_action', 'requires_action']);
    const [approval, ...others] = (await admin.approvals.list({ runId: paused.id })).data;
    expect(others).toEqual([]);
    expect(approval?.runId).toBe(chain[2]!.id);
    for (const run of chain) {
      expect(run.requiredAction).toEqual({ type: 'approval', approvals: [approval!.id] });
    }
    await admin.approvals.approve(approval!.id);
    const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed', 'cancelled']);
    expect(ended.status).toBe('succeeded');
    const finished = await chainOf(admin, ended);
    expect(finished.map((run) => run.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(toolServer().hits(`/echo/deep-${backend}`)).toBe(1);
    expect(ended.output?.text).toContain('http_fetch returned');
    await expectGaplessLogs(admin, finished);
  });

  /**
   * Starts a parent whose step calls two agent tools in parallel: the approval chain's child (which
   * pauses) and a child whose model answers only once the returned gate opens, which keeps the
   * parent running after the first child paused. Resolves once the first child has paused.
   */
  async function parentHeldRunning(path: string): Promise<{ run: Run; pausedChild: Run; held: Gate }> {
    const { admin } = server();
    if ((await admin.secrets.list()).data.every((secret) => secret.name !== 'MOCK_KEY')) {
      await connectProviders(server(), mock().url);
    }
    const model = unique('held');
    const held = gate();
    mock().on({ model }, async () => {
      await held.opened;
      return { content: 'Held answer.' };
    });
    const slow = unique('slow');
    await admin.agents.create({ slug: slow, name: slow, model: `openai/${model}` });
    const slowTool = unique('ask');
    await admin.tools.create({ name: slowTool, kind: 'agent', agent: slow });
    const { top, input } = await agentChain(admin, path, 1, [slowTool]);
    const run = await admin.runs.create(top, {
      input: `${input} ${call(slowTool, 'wait')}`,
      mode: 'background',
    });
    const children = await waitUntil(() => admin.runs.list({ parent: run.id }), {
      what: 'both children, one of them paused',
      until: (page) =>
        page.data.length === 2 && page.data.some((child) => child.status === 'requires_action'),
    });
    const pausedChild = children.data.find((child) => child.status === 'requires_action')!;
    expect((await admin.runs.get(run.id)).status).toBe('running');
    return { run, pausedChild, held };
  }

  it.skipIf(skip)(
    "a child's approval decided before its parent paused: the parent resumes at once",
    async () => {
      const { admin } = server();
      const { run, pausedChild, held } = await parentHeldRunning(`/echo/early-${backend}`);
      const [approval] = (await admin.approvals.list({ runId: run.id })).data;
      await admin.approvals.approve(approval!.id);
      // The decision found the parent running: only the child's wait is over.
      expect((await admin.runs.get(pausedChild.id)).status).toBe('queued');
      held.open();
      const ended = await waitForRunStatus(admin, run.id, ['succeeded', 'failed', 'cancelled']);
      expect(ended.status).toBe('succeeded');
      expect(ended.output?.text).toContain('Held answer.');
      expect(await admin.runs.get(pausedChild.id)).toMatchObject({ status: 'succeeded' });
      expect(toolServer().hits(`/echo/early-${backend}`)).toBe(1);
      await expectGaplessLogs(admin, [ended, pausedChild]);
    },
  );

  it.skipIf(skip)('a parent cancelled before it could pause ends its paused child too', async () => {
    const { admin } = server();
    const { run, pausedChild } = await parentHeldRunning(`/echo/held-${backend}`);
    await admin.runs.cancel(run.id);
    expect(await waitForRunStatus(admin, run.id, ['cancelled', 'failed', 'succeeded'])).toMatchObject({
      status: 'cancelled',
    });
    expect(await waitForRunStatus(admin, pausedChild.id, ['cancelled', 'failed', 'succeeded'])).toMatchObject(
      {
        status: 'cancelled',
        requiredAction: null,
      },
    );
    const [approval] = (await admin.approvals.list({ runId: pausedChild.id })).data;
    await admin.approvals.approve(approval!.id);
    expect((await admin.runs.get(pausedChild.id)).status).toBe('cancelled');
    expect(toolServer().hits(`/echo/held-${backend}`)).toBe(0);
  });

  it.skipIf(skip)(
    'cancelling the paused parent cancels its child; a later approval resumes nothing',
    async () => {
      const { admin } = server();
      const { top, input } = await agentChain(admin, `/echo/cancelled-${backend}`);
      const paused = await admin.runs.create(top, { input });
      const [, child] = (await chainOf(admin, paused)) as [Run, Run];
      expect(child.status).toBe('requires_action');
      expect((await admin.runs.cancel(paused.id)).status).toBe('cancelled');
      expect(await admin.runs.get(child.id)).toMatchObject({
        status: 'cancelled',
        error: { code: 'CANCELLED' },
        requiredAction: null,
      });
      expect(ofType(await admin.runs.events(child.id), 'run-end')).toHaveLength(1);
      const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
      await admin.approvals.approve(approval!.id);
      await sleep(100);
      expect((await admin.runs.get(paused.id)).status).toBe('cancelled');
      expect((await admin.runs.get(child.id)).status).toBe('cancelled');
      expect(toolServer().hits(`/echo/cancelled-${backend}`)).toBe(0);
    },
  );
});

describe.each(backendNames)('approvals in child runs, expiry and restarts on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;

  it.skipIf(skip)("a child's approval expires: its model reads the expiry, the chain completes", async () => {
    const server = await startTestServer(backend, { RUNYARD_APPROVAL_TIMEOUT_MS: '300' });
    try {
      const { top, input } = await agentChain(server.admin, `/echo/expired-${backend}`);
      const paused = await server.admin.runs.create(top, { input });
      expect(paused.status).toBe('requires_action');
      const ended = await waitForRunStatus(server.admin, paused.id, ['succeeded', 'failed', 'cancelled']);
      expect(ended.status).toBe('succeeded');
      const [approval] = (await server.admin.approvals.list({ runId: paused.id })).data;
      expect(approval).toMatchObject({ status: 'expired', decidedBy: null });
      const [, child] = (await chainOf(server.admin, ended)) as [Run, Run];
      expect(child.output?.text).toContain('expired before anyone decided');
      expect(toolServer().hits(`/echo/expired-${backend}`)).toBe(0);
    } finally {
      await server.close();
    }
  });

  it.skipIf(skip)('restart while paused: approve on the new process, the chain finishes', async () => {
    const first = await startTestServer(backend);
    let second: TestServer | undefined;
    try {
      const { top, input } = await agentChain(first.admin, `/echo/restarted-${backend}`);
      const paused = await first.admin.runs.create(top, { input });
      expect(paused.status).toBe('requires_action');
      await first.stop();
      second = await startTestServer(backend, {}, first.backend);
      const [, child] = (await chainOf(second.admin, await second.admin.runs.get(paused.id))) as [Run, Run];
      expect(child.status).toBe('requires_action');
      const [approval] = (await second.admin.approvals.list({ runId: paused.id, status: 'pending' })).data;
      await second.admin.approvals.approve(approval!.id);
      const ended = await waitForRunStatus(second.admin, paused.id, ['succeeded', 'failed', 'cancelled']);
      expect(ended.status).toBe('succeeded');
      expect(await second.admin.runs.get(child.id)).toMatchObject({ status: 'succeeded' });
      expect(toolServer().hits(`/echo/restarted-${backend}`)).toBe(1);
      await expectGaplessLogs(second.admin, [ended, child]);
    } finally {
      await second?.stop();
      await first.close();
    }
  });
});
