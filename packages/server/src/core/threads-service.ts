import type { CreateThread, Message, Run, Thread, UpdateThread } from '@runyard/protocol';
import { toRun } from '../engine/runs/run-view.ts';
import { isUniqueViolation, type Page, type PageRequest, type Store } from '../store/index.ts';
import { conflict, notFound } from '../shared/errors.ts';
import { StaleWrite, retryOnConflict } from '../shared/retry-on-conflict.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';

/** One run of a thread with the messages it wrote there (none until it ends). */
export interface ThreadRunHistory {
  run: Run;
  messages: Message[];
}

/** Concurrent first uses of one external thread name: the losers read the winner's mapping. */
const maxResolveAttempts = 5;

export class ThreadsService {
  constructor(private readonly store: Store) {}

  /**
   * The thread that a compat surface's client calls `externalId` (a Make `threadId` is any string).
   * A new name gets a new thread, and so does a name whose thread was deleted since; the thread and
   * its name are written in one transaction.
   */
  async resolveExternal(caller: Caller, surface: string, externalId: string): Promise<string> {
    const key = { workspaceId: caller.workspaceId, surface, kind: 'thread', externalId };
    return retryOnConflict(
      {
        maxAttempts: maxResolveAttempts,
        lostRace: isUniqueViolation,
        exhausted: `thread '${externalId}' kept changing; try again`,
      },
      () =>
        this.store.transaction(async (store) => {
          const mapped = await store.compatReferences.find(key);
          if (mapped !== undefined && (await store.threads.get(caller.workspaceId, mapped)) !== undefined) {
            return mapped;
          }
          const now = nowIso();
          const thread = await store.threads.create(caller.workspaceId, {
            id: newId('thread'),
            title: null,
            metadata: {},
            createdAt: now,
            updatedAt: now,
          });
          if (mapped === undefined) await store.compatReferences.insert(key, thread.id, now);
          else if (!(await store.compatReferences.repoint(key, mapped, thread.id))) throw new StaleWrite();
          return thread.id;
        }),
    );
  }

  async create(caller: Caller, input: CreateThread): Promise<Thread> {
    const now = nowIso();
    return this.store.threads.create(caller.workspaceId, {
      id: newId('thread'),
      title: input.title ?? null,
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    });
  }

  async list(caller: Caller, page: PageRequest): Promise<Page<Thread>> {
    return this.store.threads.list(caller.workspaceId, page);
  }

  async get(caller: Caller, id: string): Promise<Thread> {
    const thread = await this.store.threads.get(caller.workspaceId, id);
    if (thread === undefined) throw notFound('thread', id);
    return thread;
  }

  async update(caller: Caller, id: string, change: UpdateThread): Promise<Thread> {
    if (!(await this.store.threads.update(caller.workspaceId, id, { ...change, updatedAt: nowIso() }))) {
      throw notFound('thread', id);
    }
    return this.get(caller, id);
  }

  /** A thread with an active run cannot be deleted: the run would write into a thread that is gone. */
  async delete(caller: Caller, id: string): Promise<void> {
    await this.store.transaction(async (store) => {
      if ((await store.threads.get(caller.workspaceId, id)) === undefined) throw notFound('thread', id);
      const active = await store.runs.activeOnThread(id);
      if (active.length > 0) {
        throw conflict(`thread '${id}' has active runs; cancel them first`, {
          runs: active.map((run) => run.id),
        });
      }
      await store.threads.delete(caller.workspaceId, id);
    });
  }

  /**
   * The runs of a thread in creation order, from `fromRunId` on (inclusive), each with the messages
   * it wrote: what history views (e.g. the runtools thread events) are derived from. A run's
   * messages are its input followed by what it produced, written together when it ends.
   */
  async runHistory(
    caller: Caller,
    id: string,
    request: { fromRunId?: string | undefined; limit: number },
  ): Promise<ThreadRunHistory[]> {
    await this.get(caller, id);
    const runs = await this.store.runs.listOnThread(caller.workspaceId, id, request.fromRunId, request.limit);
    const messages = await this.store.threads.messagesOfRuns(
      caller.workspaceId,
      id,
      runs.map((run) => run.id),
    );
    return runs.map((run) => ({
      run: toRun(run),
      messages: messages.filter((message) => message.runId === run.id),
    }));
  }

  async messages(
    caller: Caller,
    id: string,
    request: PageRequest & { order: 'asc' | 'desc' },
  ): Promise<Page<Message>> {
    await this.get(caller, id);
    return this.store.threads.listMessages(caller.workspaceId, id, request);
  }
}
