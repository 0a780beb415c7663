import type { RunEvent } from '@runyard/protocol';
import { PermissionDeniedError, type Runyard } from '@runyard/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { approvalAgent } from '../support/approval-agent.ts';
import { waitForRunStatus } from '../support/wait-until.ts';
import { backendNames } from '../support/backends.ts';
import { unusedCredentials, useToolServer } from '../support/tool-server.ts';
import { useTestServer } from '../support/use-server.ts';

const upstream = useToolServer(unusedCredentials);

/** What a call answers when the SDK throws: the error, to match on. */
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => 'succeeded',
    (error: unknown) => error,
  );

/**
 * A key with only the `run` scope follows the runs it starts (`mode: background`, then the run, its
 * events, its stream, its thread's messages, its artifacts and the approvals it waits for), and reads
 * nothing else: listings and agents' definitions stay `read`.
 */
describe.each(backendNames)('a key with only the run scope on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  let runner: Runyard;

  beforeAll(async () => {
    if (skip) return;
    const { admin, client } = server();
    runner = client((await admin.apiKeys.create({ name: 'runner', scopes: ['run'] })).key);
    await admin.policies.create({
      name: 'upstream',
      rules: [{ effect: 'allow', resource: `${upstream().url}/**`, operations: ['GET'] }],
    });
    // An answer over maxResponseBytes is kept whole as a run artifact.
    await admin.tools.create({
      name: 'big',
      kind: 'http',
      baseUrl: upstream().url,
      path: '/big',
      maxResponseBytes: 1000,
      inputSchema: { type: 'object', properties: { bytes: { type: 'integer' } } },
    } as never);
    await admin.agents.create({
      slug: 'follower',
      name: 'Follower',
      model: 'playground/playground',
      tools: ['big'],
      policies: ['upstream'],
    });
  });

  it.skipIf(skip)(
    'starts a background run and follows it: run, events, stream, messages, artifacts',
    async () => {
      const started = await runner.runs.create('follower', {
        input: 'use big {"bytes":5000}',
        mode: 'background',
      });
      expect(['queued', 'running', 'succeeded']).toContain(started.status);
      const ended = await waitForRunStatus(runner, started.id, ['succeeded', 'failed']);
      expect(ended.status, JSON.stringify(ended.error)).toBe('succeeded');

      const events = await runner.runs.events(started.id);
      expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
      const streamed: RunEvent[] = [];
      for await (const event of runner.runs.follow(started.id)) streamed.push(event);
      expect(streamed.map((event) => event.seq)).toEqual(events.map((event) => event.seq));

      expect(ended.threadId).not.toBeNull();
      const messages = await runner.threads.messages(ended.threadId!);
      expect(messages.data.map((message) => message.role)).toContain('assistant');

      const [artifact, ...others] = await runner.runs.artifacts(started.id);
      expect(others).toEqual([]);
      const result = events.find((event) => event.type === 'tool-result');
      expect(result).toMatchObject({ artifacts: [artifact!.id] });
      expect((await runner.runs.artifact(started.id, artifact!.id)).bytes.byteLength).toBe(5000);
    },
  );

  it.skipIf(skip)('reads the approval its run waits for, and decides it', async () => {
    const { admin } = server();
    const target = upstream().url;
    await approvalAgent(admin, { slug: 'guarded-follower', target });
    const started = await runner.runs.create('guarded-follower', {
      input: `use http_fetch {"url":"${target}/echo/approved"}`,
      mode: 'background',
    });
    const paused = await waitForRunStatus(runner, started.id, ['requires_action']);
    expect(paused.requiredAction?.type).toBe('approval');
    const [approvalId] = paused.requiredAction?.type === 'approval' ? paused.requiredAction.approvals : [];
    expect(await runner.approvals.get(approvalId!)).toMatchObject({
      runId: started.id,
      status: 'pending',
      arguments: { url: `${target}/echo/approved` },
    });
    await runner.approvals.approve(approvalId!);
    expect((await waitForRunStatus(runner, started.id, ['succeeded', 'failed'])).status).toBe('succeeded');
  });

  it.skipIf(skip)(
    'cannot list or browse: agents, runs, threads, approvals, deliveries stay read',
    async () => {
      const { admin } = server();
      const run = await admin.runs.create('follower', { input: 'hello' });
      const denied = await failure(runner.agents.get('follower'));
      expect(denied).toBeInstanceOf(PermissionDeniedError);
      expect(denied).toMatchObject({ details: { requiredScope: 'read', scopes: ['run'] } });
      expect((denied as PermissionDeniedError).details).not.toHaveProperty('acceptedScopes');
      // One call at a time: a call started early would reject before anyone awaits it.
      for (const call of [
        () => runner.agents.list(),
        () => runner.agents.versions('follower'),
        () => runner.runs.list(),
        () => runner.threads.list(),
        () => runner.threads.get(run.threadId!),
        () => runner.approvals.list(),
        () => runner.runs.deliveries(run.id),
        () => runner.tools.list(),
        () => runner.policies.list(),
      ]) {
        expect(await failure(call())).toBeInstanceOf(PermissionDeniedError);
      }
    },
  );

  it.skipIf(skip)('a key with neither read nor run is told that either would do', async () => {
    const { admin, client } = server();
    const writer = client((await admin.apiKeys.create({ name: 'writer', scopes: ['write'] })).key);
    const run = await admin.runs.create('follower', { input: 'hello' });
    const denied = await failure(writer.runs.get(run.id));
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect(denied).toMatchObject({
      message: expect.stringContaining("lacks the 'read' or 'run' scope") as unknown,
      details: { requiredScope: 'read', acceptedScopes: ['read', 'run'], scopes: ['write'] },
    });
    // Another workspace's run-only key does not see the run at all.
    const workspace = await admin.workspaces.create({ name: 'elsewhere' });
    const foreign = client(
      (await admin.apiKeys.create({ name: 'foreign-runner', scopes: ['run'], workspaceId: workspace.id }))
        .key,
    );
    await expect(foreign.runs.get(run.id)).rejects.toMatchObject({ status: 404 });
    await expect(foreign.runs.events(run.id)).rejects.toMatchObject({ status: 404 });
    await expect(foreign.threads.messages(run.threadId!)).rejects.toMatchObject({ status: 404 });
  });
});
