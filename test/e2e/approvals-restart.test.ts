import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { RunEvent } from '@runyard/protocol';
import { Runyard } from '@runyard/sdk';
import { describe, expect, it } from 'vitest';
import { approvalAgent } from '../support/approval-agent.ts';
import { backendNames, postgresAvailable, temporaryDirectory } from '../support/backends.ts';
import { freshDeployment, useCleanups, within } from '../support/harness.ts';
import { exitOf, stopRunyard, useRunyardProcesses } from '../support/processes.ts';
import { waitForRunStatus, waitUntil } from '../support/wait-until.ts';
import { unusedCredentials, useToolServer } from '../support/tool-server.ts';

// A run paused for a human approval outlives the process that paused it: `runyard start` is killed
// outright (SIGKILL: no drain, nothing flushed on the way out), a new process starts on the same data,
// and the approval is still there to be decided. Approving it resumes the run on the new process,
// which sends the tool's request once; an SSE client that reconnects with Last-Event-ID misses nothing.

const bootstrapKey = 'ry_approvals_restart_bootstrap_key_012345';

const { cleanups } = useCleanups();
// Registered after the cleanups, so its afterEach runs first: processes go before their schema.
const processes = useRunyardProcesses();
const toolServer = useToolServer(unusedCredentials);

/** The events one SSE connection received, and how it ended: `run-end`, or cut (the process died). */
interface FollowedStream {
  events: RunEvent[];
  done: Promise<'ended' | 'cut'>;
}

function follow(client: Runyard, runId: string, afterSeq: number): FollowedStream {
  const events: RunEvent[] = [];
  const done = (async () => {
    try {
      for await (const event of client.runs.follow(runId, afterSeq)) events.push(event);
      return 'ended' as const;
    } catch {
      return 'cut' as const;
    }
  })();
  return { events, done };
}

/** Same database, same master key, same bootstrap key: everything a second start needs to find. */
async function deployment(backend: 'sqlite' | 'postgres'): Promise<Record<string, string>> {
  const environment: Record<string, string> = {
    RUNYARD_BOOTSTRAP_KEY: bootstrapKey,
    RUNYARD_PORT: '0',
    RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
    RUNYARD_LOG_LEVEL: 'warn',
  };
  if (backend === 'postgres') {
    const { databaseUrl, dataDirectory } = await freshDeployment(cleanups, 'runyard-approvals-restart-');
    return {
      ...environment,
      DATABASE_URL: databaseUrl,
      RUNYARD_DATA_DIR: dataDirectory,
      RUNYARD_MASTER_KEY: randomBytes(32).toString('hex'),
    };
  }
  const dataDirectory = temporaryDirectory('runyard-approvals-restart-');
  cleanups.push(() => fs.rmSync(dataDirectory, { recursive: true, force: true }));
  return { ...environment, RUNYARD_DATA_DIR: dataDirectory };
}

describe.each(backendNames)('a run paused for approval across a killed process on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;

  it.skipIf(skip)(
    'SIGKILL while paused; the new process lists the approval, approving it finishes the run; one tool call',
    async () => {
      const environment = await deployment(backend);
      const path = `/echo/restart-${backend}`;
      const first = await processes.start('start', environment);
      const admin = new Runyard({ baseUrl: first.url!, apiKey: bootstrapKey, maxRetries: 0 });
      await approvalAgent(admin, { slug: 'restarted', target: toolServer().url });

      // mode wait answers at the pause.
      const paused = await admin.runs.create('restarted', {
        input: `use http_fetch {"url":"${toolServer().url}${path}"}`,
      });
      expect(paused.status).toBe('requires_action');
      const [approval] = (await admin.approvals.list({ status: 'pending', runId: paused.id })).data;
      expect(paused.requiredAction).toEqual({ type: 'approval', approvals: [approval!.id] });

      // An SSE client is connected through the pause (the stream stays open while the run waits).
      const before = follow(admin, paused.id, 0);
      await waitUntil(() => before.events.some((event) => event.type === 'approval-requested'), {
        what: 'the streamed approval-requested event',
      });

      first.child.kill('SIGKILL');
      expect(await exitOf(first)).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await within('the cut stream', before.done)).toBe('cut');
      expect(toolServer().hits(path), 'nothing is sent while paused').toBe(0);

      const second = await processes.start('start', environment);
      const again = new Runyard({ baseUrl: second.url!, apiKey: bootstrapKey, maxRetries: 0 });
      expect(await again.runs.get(paused.id)).toMatchObject({
        status: 'requires_action',
        requiredAction: { type: 'approval', approvals: [approval!.id] },
      });
      const pending = await again.approvals.list({ status: 'pending' });
      expect(pending.data.map((each) => each.id)).toEqual([approval!.id]);
      expect(pending.data[0]).toMatchObject({
        runId: paused.id,
        toolName: 'http_fetch',
        arguments: { url: `${toolServer().url}${path}` },
        status: 'pending',
      });

      // The client reconnects to the new process after the last event it saw, before the decision.
      const lastSeen = before.events.at(-1)!.seq;
      const after = follow(again, paused.id, lastSeen);
      await again.approvals.approve(approval!.id, { scope: 'once' });

      const ended = await waitForRunStatus(again, paused.id, ['succeeded', 'failed'], 20_000);
      expect(ended).toMatchObject({ status: 'succeeded', error: null, requiredAction: null });
      expect(toolServer().hits(path), 'the approved call ran exactly once').toBe(1);

      expect(await within('the reconnected stream to end', after.done)).toBe('ended');
      const stored = await again.runs.events(paused.id);
      const streamed = [...before.events, ...after.events];
      expect(streamed.map((event) => event.seq)).toEqual(streamed.map((_, index) => index + 1));
      expect(streamed).toEqual(stored);
      expect(streamed.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
      expect(after.events.map((event) => event.type)).toContain('approval-decided');
      expect(after.events.filter((event) => event.type === 'tool-result')).toEqual([
        expect.objectContaining({ toolName: 'http_fetch', isError: false }),
      ]);

      expect(await stopRunyard(second)).toEqual({ code: 0, signal: null });
    },
    90_000,
  );
});
