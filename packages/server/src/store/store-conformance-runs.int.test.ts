import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../../../../test/support/backends.ts';
import type { RunRecord, Store } from './index.ts';
import {
  addAgent,
  addWorkspace,
  agentRow,
  idSequence,
  openFreshStore,
  timestamp,
  type FreshStore,
} from './test-fixtures/fresh-store.ts';

describe.each(backendNames)('store conformance on %s: run claims', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let fresh: FreshStore | undefined;
  let store: Store;
  let workspaceId: string;
  let agentId: string;
  const nextRunId = idSequence('run');
  const nextThreadId = idSequence('thread');

  beforeEach(async () => {
    if (skip) return;
    fresh = await openFreshStore(backend);
    store = fresh.store;
    workspaceId = await addWorkspace(store);
    agentId = (await addAgent(store, workspaceId, agentRow('claimer'))).id;
  });
  afterEach(async () => {
    await fresh?.close();
    fresh = undefined;
  });

  async function addThread(): Promise<string> {
    const id = nextThreadId();
    await store.threads.create(workspaceId, {
      id,
      title: null,
      metadata: {},
      createdAt: timestamp(),
      updatedAt: timestamp(),
    });
    return id;
  }

  async function addRun(id: string, threadId: string | null): Promise<void> {
    const run: RunRecord = {
      id,
      workspaceId,
      agentId,
      agentVersion: 1,
      threadId,
      status: 'queued',
      input: [{ role: 'user', content: 'hi' }],
      output: null,
      error: null,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      costIncomplete: false,
      iterations: 0,
      metadata: {},
      options: { environment: null, mode: 'background', onConflict: 'enqueue', stateless: false },
      callbackUrl: null,
      callbackSecret: null,
      cancelRequested: false,
      leaseOwner: null,
      leaseExpiresAt: null,
      claims: 0,
      createdAt: timestamp(),
      startedAt: null,
      finishedAt: null,
      updatedAt: timestamp(),
    };
    await store.runs.insert(run);
  }

  const claim = () => store.runs.claimNext('worker_test', timestamp(), timestamp(600));
  const finish = (id: string) =>
    store.runs.complete(
      id,
      { status: 'succeeded', output: { text: 'ok' }, error: null, finishedAt: timestamp() },
      { inputTokens: 0, outputTokens: 0, costUsd: 0, costIncomplete: false, iterations: 1 },
    );

  it.skipIf(skip)('claims the runs of one thread one at a time, in id order', async () => {
    const threadId = await addThread();
    const first = nextRunId();
    const second = nextRunId();
    await addRun(second, threadId);
    await addRun(first, threadId);
    expect((await claim())?.id).toBe(first);
    expect(await claim()).toBeUndefined();
    await finish(first);
    expect((await claim())?.id).toBe(second);
  });

  it.skipIf(skip)('holds back an earlier id while a later one of its thread runs', async () => {
    // Ids are chosen before their insert commits: the later id may be inserted and claimed first.
    const threadId = await addThread();
    const earlier = nextRunId();
    const later = nextRunId();
    await addRun(later, threadId);
    expect((await claim())?.id).toBe(later);
    await addRun(earlier, threadId);
    expect(await claim()).toBeUndefined();
    await finish(later);
    expect((await claim())?.id).toBe(earlier);
  });

  it.skipIf(skip)('runs of other threads and stateless runs are not held back', async () => {
    const busy = await addThread();
    const other = await addThread();
    const running = nextRunId();
    const elsewhere = nextRunId();
    const stateless = nextRunId();
    await addRun(running, busy);
    expect((await claim())?.id).toBe(running);
    await addRun(elsewhere, other);
    await addRun(stateless, null);
    const claimed = [(await claim())?.id, (await claim())?.id];
    expect(claimed).toEqual([elsewhere, stateless]);
  });
});
