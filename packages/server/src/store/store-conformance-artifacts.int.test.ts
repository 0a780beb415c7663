import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../../../../test/support/backends.ts';
import type { NewRunArtifact, Store } from './index.ts';
import {
  addWorkspace,
  idSequence,
  openFreshStore,
  timestamp,
  type FreshStore,
} from './test-fixtures/fresh-store.ts';

describe.each(backendNames)('store conformance on %s: run artifacts', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let fresh: FreshStore | undefined;
  let store: Store;
  let workspaceId: string;
  let otherWorkspaceId: string;
  const nextArtifactId = idSequence('artifact');
  const nextRunId = idSequence('run');

  beforeEach(async () => {
    if (skip) return;
    fresh = await openFreshStore(backend);
    store = fresh.store;
    workspaceId = await addWorkspace(store, 'team');
    otherWorkspaceId = await addWorkspace(store, 'other');
  });
  afterEach(async () => {
    await fresh?.close();
    fresh = undefined;
  });

  const artifact = (runId: string, content: Buffer, overrides: Partial<NewRunArtifact> = {}) => ({
    id: nextArtifactId(),
    workspaceId,
    runId,
    toolCallId: 'call_1',
    name: 'response-body',
    contentType: 'application/octet-stream',
    sizeBytes: content.length,
    truncated: false,
    content,
    createdAt: timestamp(),
    ...overrides,
  });

  it.skipIf(skip)('keeps every byte: zero bytes, NUL, invalid UTF-8 and a megabyte of noise', async () => {
    const runId = nextRunId();
    const contents = [
      Buffer.alloc(0),
      Buffer.from([0, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x00, 0x5c, 0x78]),
      randomBytes(1024 * 1024),
    ];
    const written = [];
    for (const content of contents) {
      const row = artifact(runId, content);
      await store.runArtifacts.insert(row);
      written.push(row);
    }
    for (const row of written) {
      const found = await store.runArtifacts.get(workspaceId, runId, row.id);
      expect(found?.content.equals(row.content), `${row.content.length} bytes`).toBe(true);
      expect(Buffer.isBuffer(found?.content)).toBe(true);
    }
  });

  it.skipIf(skip)('lists a run’s artifacts oldest first, without their bytes', async () => {
    const runId = nextRunId();
    const otherRunId = nextRunId();
    const first = artifact(runId, Buffer.from('first'), { contentType: 'text/plain' });
    const second = artifact(runId, Buffer.from('second'), { toolCallId: 'call_2', truncated: true });
    const elsewhere = artifact(otherRunId, Buffer.from('other run'));
    // Inserted out of order: the list sorts by id (creation time).
    for (const row of [second, elsewhere, first]) await store.runArtifacts.insert(row);
    const listed = await store.runArtifacts.list(workspaceId, runId);
    expect(listed).toEqual([
      {
        id: first.id,
        runId,
        toolCallId: 'call_1',
        name: 'response-body',
        contentType: 'text/plain',
        sizeBytes: 5,
        truncated: false,
        createdAt: first.createdAt,
      },
      {
        id: second.id,
        runId,
        toolCallId: 'call_2',
        name: 'response-body',
        contentType: 'application/octet-stream',
        sizeBytes: 6,
        truncated: true,
        createdAt: second.createdAt,
      },
    ]);
    expect(listed.every((item) => !('content' in item))).toBe(true);
    expect(await store.runArtifacts.list(workspaceId, nextRunId())).toEqual([]);
  });

  it.skipIf(skip)('another workspace, or another run, finds nothing', async () => {
    const runId = nextRunId();
    const row = artifact(runId, Buffer.from('mine'));
    await store.runArtifacts.insert(row);
    expect(await store.runArtifacts.get(otherWorkspaceId, runId, row.id)).toBeUndefined();
    expect(await store.runArtifacts.list(otherWorkspaceId, runId)).toEqual([]);
    expect(await store.runArtifacts.get(workspaceId, nextRunId(), row.id)).toBeUndefined();
    expect(await store.runArtifacts.get(workspaceId, runId, nextArtifactId())).toBeUndefined();
    expect((await store.runArtifacts.get(workspaceId, runId, row.id))?.artifact.id).toBe(row.id);
  });

  it.skipIf(skip)('an artifact id is written once', async () => {
    const row = artifact(nextRunId(), Buffer.from('once'));
    await store.runArtifacts.insert(row);
    await expect(store.runArtifacts.insert({ ...row, content: Buffer.from('twice') })).rejects.toThrow();
    expect((await store.runArtifacts.get(workspaceId, row.runId, row.id))?.content.toString()).toBe('once');
  });

  it.skipIf(skip)('joins a transaction: a rolled-back artifact is not there', async () => {
    const row = artifact(nextRunId(), Buffer.from('rolled back'));
    await expect(
      store.transaction(async (transaction) => {
        await transaction.runArtifacts.insert(row);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await store.runArtifacts.list(workspaceId, row.runId)).toEqual([]);
  });
});
