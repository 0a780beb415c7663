import type { CreateThread, Message, Thread, UpdateThread } from '@runyard/protocol';
import type { Page, PageRequest, Store } from '../store/index.ts';
import { conflict, notFound } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';

export class ThreadsService {
  constructor(private readonly store: Store) {}

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

  async messages(
    caller: Caller,
    id: string,
    request: PageRequest & { order: 'asc' | 'desc' },
  ): Promise<Page<Message>> {
    await this.get(caller, id);
    return this.store.threads.listMessages(caller.workspaceId, id, request);
  }
}
