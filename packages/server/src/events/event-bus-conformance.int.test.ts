import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresAvailable } from '../../../../test/support/backends.ts';
import { newId } from '../core/ids.ts';
import type { Store } from '../store/index.ts';
import type { BusSignal, EventBus } from './event-bus.ts';
import { collect, collectSignals, range, settle, waitUntil } from './test-fixtures/collectors.ts';
import { appendAndPublish, textDeltas } from './test-fixtures/events.ts';
import { busKinds, openBus, type OpenBus } from './test-fixtures/open-bus.ts';

/**
 * What every EventBus does, in one process: the embedded LocalEventBus and the PostgreSQL bus must
 * be interchangeable to the engine and the API. What only the PostgreSQL bus does (other processes,
 * a lost LISTEN connection, a gap filled later) is in postgres-event-bus.int.test.ts.
 */
describe.each(busKinds)('event bus conformance: %s', (kind) => {
  const skip = kind === 'postgres' && !postgresAvailable;
  let opened: OpenBus | undefined;
  let bus: EventBus;
  let store: Store;

  beforeEach(async () => {
    if (skip) return;
    opened = await openBus(kind);
    ({ bus, store } = opened);
  });
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  const publish = (runId: string, from: number, count: number, maximumBatch = 1) =>
    appendAndPublish(store, bus, runId, from, count, maximumBatch);
  /** One batch, as the engine publishes it: durable first. */
  const publishBatch = async (runId: string, events: ReturnType<typeof textDeltas>) => {
    await store.runEvents.append(runId, events);
    bus.publish(runId, events);
  };

  describe('run events', () => {
    it.skipIf(skip)('delivers every batch to every subscriber of the run, in order and once', async () => {
      const runId = newId('run');
      const first = collect(bus, runId);
      const second = collect(bus, runId);
      const events = textDeltas(1, 3);
      await publishBatch(runId, events);
      await publish(runId, 4, 97, 5);
      await waitUntil(() => first.seqs.length >= 100 && second.seqs.length >= 100, 'both have 1..100');
      await settle();

      expect(first.seqs).toEqual(range(1, 100));
      expect(second.seqs).toEqual(range(1, 100));
      // The events themselves, whole, not only their seqs.
      expect(first.batches[0]).toEqual(events);
      expect(opened?.logged).toEqual([]);
    });

    it.skipIf(skip)('keeps runs apart, however their batches interleave', async () => {
      const one = newId('run');
      const other = newId('run');
      const onOne = collect(bus, one);
      const onOther = collect(bus, other);
      for (let seq = 1; seq <= 20; seq += 1) {
        await publish(one, seq, 1);
        await publish(other, 2 * seq - 1, 2, 2);
      }
      await waitUntil(() => onOne.seqs.length >= 20 && onOther.seqs.length >= 40, 'both runs delivered');
      await settle();

      expect(onOne.seqs).toEqual(range(1, 20));
      expect(onOther.seqs).toEqual(range(1, 40));
    });

    it.skipIf(skip)('gives a subscriber only what is published after it subscribed', async () => {
      const runId = newId('run');
      await publish(runId, 1, 5, 2);
      const late = collect(bus, runId);
      await publish(runId, 6, 5, 2);
      await waitUntil(() => late.seqs.length >= 5, 'the late subscriber has 6..10');
      await settle();

      expect(late.seqs).toEqual(range(6, 10));
    });

    it.skipIf(skip)('delivers nothing for an empty batch', async () => {
      const runId = newId('run');
      const subscriber = collect(bus, runId);
      bus.publish(runId, []);
      await publish(runId, 1, 1);
      await waitUntil(() => subscriber.seqs.length >= 1, 'the subscriber has 1');
      await settle();

      expect(subscriber.batches).toHaveLength(1);
    });
  });

  describe('unsubscribing', () => {
    it.skipIf(skip)('stops the deliveries of that subscriber; the others go on', async () => {
      const runId = newId('run');
      const leaving = collect(bus, runId);
      const staying = collect(bus, runId);
      await publish(runId, 1, 3);
      await waitUntil(() => leaving.seqs.length >= 3, 'the leaving subscriber has 1..3');
      leaving.unsubscribe();
      await publish(runId, 4, 3);
      await waitUntil(() => staying.seqs.length >= 6, 'the staying subscriber has 1..6');
      await settle();

      expect(leaving.seqs).toEqual(range(1, 3));
      expect(staying.seqs).toEqual(range(1, 6));
    });

    it.skipIf(skip)(
      'from inside its own delivery: it gets nothing more, the others get that batch',
      async () => {
        const runId = newId('run');
        const seen: number[] = [];
        const unsubscribe = bus.subscribe(runId, (events) => {
          seen.push(...events.map((event) => event.seq));
          unsubscribe();
        });
        const after = collect(bus, runId);
        await publishBatch(runId, textDeltas(1, 2));
        await publishBatch(runId, textDeltas(3, 2));
        await waitUntil(() => after.seqs.length >= 4, 'the other subscriber has 1..4');
        await settle();

        expect(seen).toEqual([1, 2]);
        expect(after.seqs).toEqual(range(1, 4));
      },
    );

    it.skipIf(skip)('the last one out, then a new subscriber: it gets what comes next', async () => {
      const runId = newId('run');
      const before = collect(bus, runId);
      await publish(runId, 1, 3);
      await waitUntil(() => before.seqs.length >= 3, 'the first subscriber has 1..3');
      before.unsubscribe();
      await publish(runId, 4, 3);
      const again = collect(bus, runId);
      await publish(runId, 7, 3);
      await waitUntil(() => again.seqs.length >= 3, 'the new subscriber has 7..9');
      await settle();

      expect(before.seqs).toEqual(range(1, 3));
      expect(again.seqs).toEqual(range(7, 9));
    });

    it.skipIf(skip)('twice is harmless, even after someone else subscribed', async () => {
      const runId = newId('run');
      const first = collect(bus, runId);
      first.unsubscribe();
      const second = collect(bus, runId);
      first.unsubscribe();
      await publish(runId, 1, 3);
      await waitUntil(() => second.seqs.length >= 3, 'the second subscriber has 1..3');
      await settle();

      expect(first.seqs).toEqual([]);
      expect(second.seqs).toEqual(range(1, 3));
    });
  });

  describe('signals', () => {
    it.skipIf(skip)('delivers runs-available and cancel to every listener, in order and once', async () => {
      const first = collectSignals(bus);
      const second = collectSignals(bus);
      const sent: BusSignal[] = [
        { kind: 'cancel', runId: newId('run') },
        { kind: 'runs-available' },
        { kind: 'cancel', runId: newId('run') },
        { kind: 'runs-available' },
      ];
      for (const signal of sent) bus.signal(signal);
      await waitUntil(() => first.length >= 4 && second.length >= 4, 'both listeners have every signal');
      await settle();

      expect(first).toEqual(sent);
      expect(second).toEqual(sent);
    });

    it.skipIf(skip)('a removed listener gets no more; the others go on', async () => {
      const removed: BusSignal[] = [];
      const remove = bus.onSignal((signal) => removed.push(signal));
      const staying = collectSignals(bus);
      bus.signal({ kind: 'runs-available' });
      await waitUntil(() => removed.length >= 1, 'the removed listener has the first signal');
      remove();
      const runId = newId('run');
      bus.signal({ kind: 'cancel', runId });
      await waitUntil(() => staying.length >= 2, 'the staying listener has both');
      await settle();

      expect(removed).toEqual([{ kind: 'runs-available' }]);
      expect(staying).toEqual([{ kind: 'runs-available' }, { kind: 'cancel', runId }]);
    });
  });

  describe('a listener that throws', () => {
    it.skipIf(skip)('stops neither the other subscribers nor the publisher, and is logged', async () => {
      const runId = newId('run');
      const before = collect(bus, runId);
      bus.subscribe(runId, () => {
        throw new Error('a broken subscriber');
      });
      const after = collect(bus, runId);
      await expect(publish(runId, 1, 4, 2)).resolves.toBeUndefined();
      await waitUntil(() => after.seqs.length >= 4, 'the later subscriber has 1..4');
      await settle();

      expect(before.seqs).toEqual(range(1, 4));
      expect(after.seqs).toEqual(range(1, 4));
      expect(opened?.logged).toContain(`event bus: a subscriber of run ${runId} threw`);
    });

    it.skipIf(skip)('stops neither the other signal listeners nor the sender, and is logged', async () => {
      const before = collectSignals(bus);
      bus.onSignal(() => {
        throw new Error('a broken listener');
      });
      const after = collectSignals(bus);
      expect(() => bus.signal({ kind: 'runs-available' })).not.toThrow();
      await waitUntil(() => after.length >= 1, 'the later listener has the signal');
      await settle();

      expect(before).toEqual([{ kind: 'runs-available' }]);
      expect(after).toEqual([{ kind: 'runs-available' }]);
      expect(opened?.logged).toContain('event bus: a signal listener threw');
    });
  });

  it.skipIf(skip)('once closed, delivers nothing and throws nothing; closing again is harmless', async () => {
    const runId = newId('run');
    const subscribed = collect(bus, runId);
    const signals = collectSignals(bus);
    await bus.close();

    const afterClose = collect(bus, runId);
    const signalsAfterClose = collectSignals(bus);
    await publish(runId, 1, 3);
    expect(() => bus.signal({ kind: 'cancel', runId })).not.toThrow();
    await settle();
    await expect(bus.close()).resolves.toBeUndefined();

    expect(subscribed.seqs).toEqual([]);
    expect(afterClose.seqs).toEqual([]);
    expect(signals).toEqual([]);
    expect(signalsAfterClose).toEqual([]);
  });
});
