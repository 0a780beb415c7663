import http from 'node:http';
import type net from 'node:net';
import { sleep, type RunEvent } from '@runyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalAgent } from '../support/approval-agent.ts';
import { waitForRunStatus } from '../support/wait-until.ts';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer } from '../support/server.ts';
import { useTestServer } from '../support/use-server.ts';

/** A loopback API that records every request that reaches it. */
let hits: string[] = [];
let target = '';
const api = http.createServer((request, response) => {
  hits.push(`${request.method} ${request.url}`);
  response.writeHead(200, { 'content-type': 'text/plain' }).end('paid');
});
beforeAll(async () => {
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(api.address() as net.AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

const fetchInput = (path: string) => `use http_fetch {"url":"${target}${path}"}`;

describe.each(backendNames)('human approval on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('pauses without a worker, nothing sent until approved, then sent once', async () => {
    const { admin } = server();
    await approvalAgent(admin, { slug: 'payer', target });
    hits = [];
    const paused = await admin.runs.create('payer', { input: fetchInput('/pay?n=1') });
    expect(paused.status).toBe('requires_action');
    expect(paused.requiredAction?.type).toBe('approval');
    expect(hits).toEqual([]);
    const pending = await admin.approvals.list({ status: 'pending', runId: paused.id });
    expect(pending.data).toHaveLength(1);
    const approval = pending.data[0]!;
    expect(paused.requiredAction).toEqual({ type: 'approval', approvals: [approval.id] });
    expect(approval).toMatchObject({
      runId: paused.id,
      toolName: 'http_fetch',
      arguments: { url: `${target}/pay?n=1` },
      rule: { policy: 'guarded', ruleIndex: 1, resource: 'tool:http_fetch', method: '*' },
      status: 'pending',
    });
    const events = await admin.runs.events(paused.id);
    expect(events.find((event) => event.type === 'approval-requested')).toMatchObject({
      approvalId: approval.id,
      toolName: 'http_fetch',
    });
    // Waiting holds no worker: the run has no lease while paused.
    await sleep(100);
    expect(hits).toEqual([]);

    const approved = await admin.approvals.approve(approval.id, { scope: 'once' });
    expect(approved).toMatchObject({ status: 'approved', scope: 'once' });
    const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed']);
    expect(ended.status).toBe('succeeded');
    expect(ended.requiredAction).toBeNull();
    expect(hits).toEqual(['GET /pay?n=1']);
    const after = await admin.runs.events(paused.id);
    expect(after.map((event) => event.seq)).toEqual(after.map((_, index) => index + 1));
    expect(after.find((event) => event.type === 'tool-result')).toMatchObject({ isError: false });

    await expect(admin.approvals.approve(approval.id)).rejects.toMatchObject({ status: 409 });
    await expect(admin.approvals.deny(approval.id, { reason: 'late' })).rejects.toMatchObject({
      status: 409,
    });
    await expect(admin.approvals.get('apr_00000000000000000000000000')).rejects.toMatchObject({
      status: 404,
    });
  });

  it.skipIf(skip)('deny: the model gets the reason and the run goes on', async () => {
    const { admin } = server();
    await approvalAgent(admin, { slug: 'denied', target });
    hits = [];
    const paused = await admin.runs.create('denied', { input: fetchInput('/pay?n=2') });
    const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
    await admin.approvals.deny(approval!.id, { reason: 'not this month' });
    const ended = await waitForRunStatus(admin, paused.id, ['succeeded', 'failed']);
    expect(ended.status).toBe('succeeded');
    expect(hits).toEqual([]);
    const result = (await admin.runs.events(paused.id)).find((event) => event.type === 'tool-result');
    expect(result).toMatchObject({ isError: true });
    expect(JSON.stringify(result)).toContain('not this month');
    // The model's next step saw the denial: the playground repeats what it was given.
    expect(ended.output?.text).toBeTruthy();
  });

  it.skipIf(skip)('edited arguments are what the server receives', async () => {
    const { admin } = server();
    await approvalAgent(admin, { slug: 'edited', target });
    hits = [];
    const paused = await admin.runs.create('edited', { input: fetchInput('/pay?amount=900') });
    const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
    await admin.approvals.approve(approval!.id, { arguments: { url: `${target}/pay?amount=90` } });
    expect(await waitForRunStatus(admin, paused.id, ['succeeded', 'failed'])).toMatchObject({
      status: 'succeeded',
    });
    expect(hits).toEqual(['GET /pay?amount=90']);
    expect((await admin.approvals.get(approval!.id)).editedArguments).toEqual({
      url: `${target}/pay?amount=90`,
    });
  });

  it.skipIf(skip)('window grant: later runs of the agent pass until it expires', async () => {
    const { admin } = server();
    await approvalAgent(admin, { slug: 'windowed', target });
    hits = [];
    const first = await admin.runs.create('windowed', { input: fetchInput('/w1') });
    const [approval] = (await admin.approvals.list({ runId: first.id })).data;
    await expect(
      admin.approvals.approve(approval!.id, { scope: 'once', durationMs: 1000 }),
    ).rejects.toMatchObject({ status: 400 });
    await admin.approvals.approve(approval!.id, { scope: 'window', durationMs: 1500 });
    await waitForRunStatus(admin, first.id, ['succeeded']);
    const second = await admin.runs.create('windowed', { input: fetchInput('/w2') });
    expect(second.status).toBe('succeeded');
    expect(hits).toEqual(['GET /w1', 'GET /w2']);
    await sleep(1600);
    const third = await admin.runs.create('windowed', { input: fetchInput('/w3') });
    expect(third.status).toBe('requires_action');
    expect(hits).toEqual(['GET /w1', 'GET /w2']);
    // Another agent under the same policy has no grant.
    await approvalAgent(admin, { slug: 'other', target });
    expect((await admin.runs.create('other', { input: fetchInput('/o') })).status).toBe('requires_action');
  });

  it.skipIf(skip)('an SSE stream stays open across the pause, in one seq sequence', async () => {
    const { admin } = server();
    await approvalAgent(admin, { slug: 'streamed', target });
    hits = [];
    const seen: RunEvent[] = [];
    for await (const event of admin.runs.stream('streamed', { input: fetchInput('/s') })) {
      seen.push(event);
      if (event.type === 'approval-requested') await admin.approvals.approve(event.approvalId);
    }
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index + 1));
    const types = seen.map((event) => event.type);
    expect(types.indexOf('approval-requested')).toBeLessThan(types.indexOf('approval-decided'));
    expect(types.at(-1)).toBe('run-end');
    expect(seen.at(-1)).toMatchObject({ status: 'succeeded' });
    expect(hits).toEqual(['GET /s']);
  });

  it.skipIf(skip)('tool outputs: 409 when the run waits for approvals, 400 for repeated ids', async () => {
    const { admin } = server();
    await approvalAgent(admin, { slug: 'outputs', target });
    const paused = await admin.runs.create('outputs', { input: fetchInput('/t') });
    await expect(
      admin.runs.submitToolOutputs(paused.id, { outputs: [{ toolCallId: 'call_1', output: 1 }] }),
    ).rejects.toMatchObject({ status: 409 });
    await expect(
      admin.runs.submitToolOutputs(paused.id, {
        outputs: [
          { toolCallId: 'call_1', output: 1 },
          { toolCallId: 'call_1', output: 2 },
        ],
      }),
    ).rejects.toMatchObject({ status: 400 });
    expect((await admin.runs.get(paused.id)).status).toBe('requires_action');
  });

  it.skipIf(skip)('a paused run can be cancelled; its approval then no longer resumes it', async () => {
    const { admin } = server();
    await approvalAgent(admin, { slug: 'cancelled', target });
    const paused = await admin.runs.create('cancelled', { input: fetchInput('/c') });
    expect((await admin.runs.cancel(paused.id)).status).toBe('cancelled');
    const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
    await admin.approvals.approve(approval!.id);
    await sleep(100);
    expect((await admin.runs.get(paused.id)).status).toBe('cancelled');
  });

  it.skipIf(skip)('another workspace can neither see nor decide an approval', async () => {
    const { admin, client } = server();
    await approvalAgent(admin, { slug: 'private', target });
    const paused = await admin.runs.create('private', { input: fetchInput('/p') });
    const [approval] = (await admin.approvals.list({ runId: paused.id })).data;
    const workspace = await admin.workspaces.create({ name: 'other-team' });
    const key = await admin.apiKeys.create({ name: 'k', scopes: ['admin'], workspaceId: workspace.id });
    const foreign = client(key.key);
    await expect(foreign.approvals.get(approval!.id)).rejects.toMatchObject({ status: 404 });
    await expect(foreign.approvals.approve(approval!.id)).rejects.toMatchObject({ status: 404 });
    expect((await foreign.approvals.list()).data).toEqual([]);
    expect((await admin.approvals.get(approval!.id)).status).toBe('pending');
  });
});

describe.each(backendNames)('approval expiry and restarts on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;

  it.skipIf(skip)('a pending approval expires: the run resumes with a denial', async () => {
    const server = await startTestServer(backend, { RUNYARD_APPROVAL_TIMEOUT_MS: '300' });
    try {
      await approvalAgent(server.admin, { slug: 'expiring', target });
      hits = [];
      const paused = await server.admin.runs.create('expiring', { input: fetchInput('/e') });
      expect(paused.status).toBe('requires_action');
      const ended = await waitForRunStatus(server.admin, paused.id, ['succeeded', 'failed']);
      expect(ended.status).toBe('succeeded');
      expect(hits).toEqual([]);
      const [approval] = (await server.admin.approvals.list({ runId: paused.id })).data;
      expect(approval).toMatchObject({ status: 'expired', decidedBy: null });
      const result = (await server.admin.runs.events(paused.id)).find(
        (event) => event.type === 'tool-result',
      );
      expect(JSON.stringify(result)).toContain('expired');
    } finally {
      await server.close();
    }
  });

  it.skipIf(skip)('restart while paused: approve on the new process, the run finishes', async () => {
    const first = await startTestServer(backend);
    let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      await approvalAgent(first.admin, { slug: 'restarted', target });
      hits = [];
      const paused = await first.admin.runs.create('restarted', { input: fetchInput('/r') });
      expect(paused.status).toBe('requires_action');
      await first.stop();
      second = await startTestServer(backend, {}, first.backend);
      expect((await second.admin.runs.get(paused.id)).status).toBe('requires_action');
      const [approval] = (await second.admin.approvals.list({ status: 'pending' })).data;
      await second.admin.approvals.approve(approval!.id);
      expect(await waitForRunStatus(second.admin, paused.id, ['succeeded', 'failed'])).toMatchObject({
        status: 'succeeded',
      });
      expect(hits).toEqual(['GET /r']);
    } finally {
      await second?.stop();
      await first.close();
    }
  });
});
