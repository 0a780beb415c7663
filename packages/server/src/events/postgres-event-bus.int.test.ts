import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { postgresAvailable } from '../../../../test/support/backends.ts';
import { isolatedPostgres } from '../../../../test/support/postgres.ts';
import { newId } from '../core/ids.ts';
import { migrate, openDatabase, Store } from '../store/index.ts';
import type { BackoffRangeMs } from './backoff.ts';
import { channelName } from './bus-notices.ts';
import { createPostgresEventBus, type PostgresEventBus } from './postgres-event-bus.ts';
import { collect, collectSignals, range, settle, waitUntil } from './test-fixtures/collectors.ts';
import { appendAndPublish, textDeltas } from './test-fixtures/events.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repositoryRoot = path.resolve(here, '../../../..');

/** One side of the test: what one Runyard process holds. */
interface Process {
  store: Store;
  bus: PostgresEventBus;
  /** What the bus logged: a lost connection is logged, never thrown. */
  logged: string[];
}

describe.skipIf(!postgresAvailable)('PostgreSQL event bus', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function database(): Promise<string> {
    const postgres = await isolatedPostgres();
    if (postgres === undefined) throw new Error('PostgreSQL is not reachable');
    cleanups.push(postgres.drop);
    const handle = await openDatabase({ databaseUrl: postgres.databaseUrl, dataDir: os.tmpdir() });
    cleanups.push(() => handle.close());
    await migrate(handle);
    return postgres.databaseUrl;
  }

  /** A process of its own on the database: its own pool, store and bus. */
  async function startProcess(
    databaseUrl: string,
    options: { reconnectDelayMs?: BackoffRangeMs } = {},
  ): Promise<Process> {
    const handle = await openDatabase({ databaseUrl, dataDir: os.tmpdir() });
    cleanups.push(() => handle.close());
    const store = new Store(handle.db);
    const logged: string[] = [];
    const bus = await createPostgresEventBus({
      databaseUrl,
      store,
      logger: (message) => logged.push(message),
      ...options,
    });
    cleanups.push(() => bus.close());
    return { store, bus, logged };
  }

  async function terminateListener(bus: PostgresEventBus, databaseUrl: string): Promise<void> {
    const pid = bus.listenerProcessId;
    expect(pid).toBeTypeOf('number');
    const url = new URL(databaseUrl);
    url.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query('select pg_terminate_backend($1)', [pid]);
      await waitUntil(async () => {
        const result = await client.query('select 1 from pg_stat_activity where pid = $1', [pid]);
        return result.rowCount === 0;
      }, 'the LISTEN backend is gone');
    } finally {
      await client.end();
    }
    await waitUntil(() => bus.listenerProcessId === undefined, 'the bus notices its connection is gone');
  }

  it('delivers what follows a gap once a later local publish fills it', async () => {
    const databaseUrl = await database();
    const a = await startProcess(databaseUrl);
    const runId = newId('run');
    const onA = collect(a.bus, runId);
    await appendAndPublish(a.store, a.bus, runId, 1, 2);
    await waitUntil(() => onA.seqs.length >= 2, 'A has the first batch');

    // The later batch is durable and published first; the read it starts stops at the gap. Then
    // the gap is filled and published: what follows it must not be forgotten.
    const middle = textDeltas(3, 3);
    const last = textDeltas(6, 1);
    await a.store.runEvents.append(runId, last);
    a.bus.publish(runId, last);
    await settle();
    expect(onA.seqs).toEqual(range(1, 2));
    await a.store.runEvents.append(runId, middle);
    a.bus.publish(runId, middle);
    await waitUntil(() => onA.seqs.length >= 6, 'A has every event up to 6');
    await settle();
    expect(onA.seqs).toEqual(range(1, 6));
  });

  it('delivers the events one process publishes to subscribers in another, in order and once', async () => {
    const databaseUrl = await database();
    const a = await startProcess(databaseUrl);
    const b = await startProcess(databaseUrl);
    const runId = newId('run');
    const onA = collect(a.bus, runId);
    const onB = collect(b.bus, runId);

    await appendAndPublish(a.store, a.bus, runId, 1, 3, 3);
    await waitUntil(() => onB.seqs.length >= 3, 'B has the first batch');

    // A burst: 500 events in batches of 1 to 7, far faster than one round trip each.
    await appendAndPublish(a.store, a.bus, runId, 4, 500, 7);
    await waitUntil(() => onB.seqs.length >= 503, 'B has the burst');
    await settle();

    expect(onB.seqs).toEqual(range(1, 503));
    // The origin delivered its own events at once and ignored its own notifications.
    expect(onA.seqs).toEqual(range(1, 503));
    expect(a.logged).toEqual([]);
    expect(b.logged).toEqual([]);
  });

  it('keeps runs apart and costs nothing for runs without subscribers', async () => {
    const databaseUrl = await database();
    const a = await startProcess(databaseUrl);
    const b = await startProcess(databaseUrl);
    const followed = newId('run');
    const ignored = newId('run');
    const onB = collect(b.bus, followed);
    const reads = vi.spyOn(b.store.runEvents, 'list');

    await appendAndPublish(a.store, a.bus, ignored, 1, 20, 3);
    await appendAndPublish(a.store, a.bus, followed, 1, 20, 3);
    await waitUntil(() => onB.seqs.length >= 20, 'B has the followed run');
    await settle();
    expect(onB.seqs).toEqual(range(1, 20));
    expect(reads.mock.calls.length).toBeGreaterThan(0);
    expect(reads.mock.calls.filter(([runId]) => runId !== followed)).toEqual([]);
  });

  it('gives a late subscriber only what comes after it, and nothing twice', async () => {
    const databaseUrl = await database();
    const a = await startProcess(databaseUrl);
    const b = await startProcess(databaseUrl);
    const runId = newId('run');

    // Published while no one in B follows the run: B reads none of it.
    await appendAndPublish(a.store, a.bus, runId, 1, 10, 4);
    const witness = collect(a.bus, runId);
    await settle();

    const early = collect(b.bus, runId);
    await appendAndPublish(a.store, a.bus, runId, 11, 10, 3);
    await waitUntil(() => early.seqs.length >= 10, 'the early subscriber has 11..20');

    const late = collect(b.bus, runId);
    await appendAndPublish(a.store, a.bus, runId, 21, 10, 2);
    await waitUntil(() => late.seqs.length >= 10, 'the late subscriber has 21..30');
    await settle();

    expect(early.seqs).toEqual(range(11, 30));
    expect(late.seqs).toEqual(range(21, 30));
    expect(witness.seqs).toEqual(range(11, 30));

    // Everyone leaves; a new subscription starts afresh after what was published meanwhile.
    early.unsubscribe();
    late.unsubscribe();
    await appendAndPublish(a.store, a.bus, runId, 31, 5, 5);
    await settle();
    const again = collect(b.bus, runId);
    await appendAndPublish(a.store, a.bus, runId, 36, 5, 1);
    await waitUntil(() => again.seqs.length >= 5, 'the new subscriber has 36..40');
    await settle();
    expect(again.seqs).toEqual(range(36, 40));
    expect(early.seqs).toEqual(range(11, 30));
  });

  it('carries signals across processes, and not back to their origin', async () => {
    const databaseUrl = await database();
    const a = await startProcess(databaseUrl);
    const b = await startProcess(databaseUrl);
    const onA = collectSignals(a.bus);
    const onB = collectSignals(b.bus);
    const runId = newId('run');

    a.bus.signal({ kind: 'cancel', runId });
    b.bus.signal({ kind: 'runs-available' });
    await waitUntil(() => onA.length >= 2 && onB.length >= 2, 'both have both signals');
    await settle();

    expect(onA).toEqual([{ kind: 'cancel', runId }, { kind: 'runs-available' }]);
    expect(onB).toEqual(expect.arrayContaining([{ kind: 'cancel', runId }, { kind: 'runs-available' }]));
    expect(onB).toHaveLength(2);
  });

  it('reconnects after its LISTEN connection is killed and catches up on what it missed', async () => {
    const databaseUrl = await database();
    const a = await startProcess(databaseUrl);
    // Slow enough to reconnect that A's next events are surely published while B is deaf: the
    // jitter's draw is pinned near the top of the window, so the first reconnect waits ~1.5 s.
    const b = await startProcess(databaseUrl, {
      reconnectDelayMs: { initial: 1500, maximum: 3000, random: () => 0.999 },
    });
    const runId = newId('run');
    const quiet = newId('run');
    const onB = collect(b.bus, runId);
    // Followed, but nothing published before the outage: catching up starts from its last seq then.
    const onQuiet = collect(b.bus, quiet);
    const signals = collectSignals(b.bus);

    await appendAndPublish(a.store, a.bus, runId, 1, 5, 2);
    await waitUntil(() => onB.seqs.length >= 5, 'B has 1..5');

    await terminateListener(b.bus, databaseUrl);
    await appendAndPublish(a.store, a.bus, runId, 6, 5, 2);
    await appendAndPublish(a.store, a.bus, quiet, 1, 3, 3);
    a.bus.signal({ kind: 'cancel', runId });
    expect(b.bus.listenerProcessId).toBeUndefined();

    await waitUntil(
      () => onB.seqs.length >= 10 && onQuiet.seqs.length >= 3,
      'B caught up after reconnecting',
    );
    expect(signals).toContainEqual({ kind: 'runs-available' });
    expect(b.logged.some((line) => line.includes('lost'))).toBe(true);

    await appendAndPublish(a.store, a.bus, runId, 11, 5, 2);
    await waitUntil(() => onB.seqs.length >= 15, 'B has 11..15 live');
    await settle();
    expect(onB.seqs).toEqual(range(1, 15));
    expect(onQuiet.seqs).toEqual(range(1, 3));
  });

  it('delivers events published by a separate Node process', async () => {
    const databaseUrl = await database();
    const b = await startProcess(databaseUrl);
    const runId = newId('run');
    const onB = collect(b.bus, runId);
    const signals = collectSignals(b.bus);

    const exit = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(here, 'test-fixtures', 'publish-events.ts')],
        {
          cwd: repositoryRoot,
          env: {
            ...process.env,
            DATABASE_URL: databaseUrl,
            RUNYARD_TEST_RUN_ID: runId,
            RUNYARD_TEST_EVENTS: '300',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(exit, exit.stderr).toMatchObject({ code: 0 });

    await waitUntil(
      () => onB.seqs.length >= 300 && signals.length >= 1,
      'B has what the other process published',
    );
    await settle();
    expect(onB.seqs).toEqual(range(1, 300));
    expect(signals).toEqual([{ kind: 'cancel', runId }]);
  }, 60_000);
});

describe('event bus channel names', () => {
  it('are the plain names without a schema, scoped and at most 63 bytes with one', () => {
    expect(channelName('runyard_run_events', null)).toBe('runyard_run_events');
    expect(channelName('runyard_run_events', 't_abc')).toBe('runyard_run_events_t_abc');
    const long = channelName('runyard_run_events', 'x'.repeat(63));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(channelName('runyard_run_events', 'y'.repeat(63)));
  });
});
