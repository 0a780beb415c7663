import type { Kysely } from 'kysely';
import type { Message, MessagePart, MessageRole, Thread } from '@runyard/protocol';
import type { Database, MessageTable, ThreadTable } from '../schema.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';

const toThread = (row: ThreadTable): Thread => ({
  id: row.id,
  title: row.title,
  metadata: parseJson<Record<string, unknown>>(row.metadata),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toMessage = (row: MessageTable): Message => ({
  id: row.id,
  threadId: row.thread_id,
  runId: row.run_id,
  role: row.role as MessageRole,
  content: parseJson<MessagePart[]>(row.content),
  createdAt: row.created_at,
});

export interface NewMessage {
  id: string;
  runId: string | null;
  role: MessageRole;
  content: MessagePart[];
  createdAt: string;
}

export class ThreadRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(workspaceId: string, thread: Thread): Promise<Thread> {
    await this.db
      .insertInto('threads')
      .values({
        id: thread.id,
        workspace_id: workspaceId,
        title: thread.title,
        metadata: JSON.stringify(thread.metadata),
        created_at: thread.createdAt,
        updated_at: thread.updatedAt,
      })
      .execute();
    return thread;
  }

  async get(workspaceId: string, id: string): Promise<Thread | undefined> {
    const row = await this.db
      .selectFrom('threads')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toThread(row);
  }

  async list(workspaceId: string, request: PageRequest): Promise<Page<Thread>> {
    const query = this.db.selectFrom('threads').selectAll().where('workspace_id', '=', workspaceId);
    return paginate(query, 'id', request, toThread);
  }

  async update(
    workspaceId: string,
    id: string,
    change: { title?: string | null; metadata?: Record<string, unknown>; updatedAt: string },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('threads')
      .set({
        ...(change.title !== undefined && { title: change.title }),
        ...(change.metadata !== undefined && { metadata: JSON.stringify(change.metadata) }),
        updated_at: change.updatedAt,
      })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Deletes the thread, its messages and the memory notes scoped to it; runs keep their own record. */
  async delete(workspaceId: string, id: string): Promise<boolean> {
    await this.db
      .deleteFrom('agent_memory')
      .where('workspace_id', '=', workspaceId)
      .where('thread_id', '=', id)
      .execute();
    await this.db
      .deleteFrom('messages')
      .where('workspace_id', '=', workspaceId)
      .where('thread_id', '=', id)
      .execute();
    const result = await this.db
      .deleteFrom('threads')
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * Appends messages after the thread's last one. The unique (thread, position) constraint turns a
   * concurrent writer into an error instead of an interleaving.
   */
  async appendMessages(workspaceId: string, threadId: string, messages: NewMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const last = await this.db
      .selectFrom('messages')
      .select((eb) => eb.fn.max('position').as('position'))
      .where('thread_id', '=', threadId)
      .executeTakeFirst();
    const start = Number(last?.position ?? 0) + 1;
    await this.db
      .insertInto('messages')
      .values(
        messages.map((message, index) => ({
          id: message.id,
          workspace_id: workspaceId,
          thread_id: threadId,
          run_id: message.runId,
          position: start + index,
          role: message.role,
          content: JSON.stringify(message.content),
          created_at: message.createdAt,
        })),
      )
      .execute();
    await this.db
      .updateTable('threads')
      .set({ updated_at: messages.at(-1)?.createdAt ?? '' })
      .where('id', '=', threadId)
      .execute();
  }

  /** A page of messages in thread order; the cursor is the last position seen. */
  async listMessages(
    workspaceId: string,
    threadId: string,
    request: PageRequest & { order: 'asc' | 'desc' },
  ): Promise<Page<Message>> {
    let query = this.db
      .selectFrom('messages')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('thread_id', '=', threadId)
      .orderBy('position', request.order)
      .limit(request.limit + 1);
    const cursor = request.cursor === undefined ? undefined : Number.parseInt(request.cursor, 10);
    if (cursor !== undefined && Number.isFinite(cursor)) {
      query = query.where('position', request.order === 'asc' ? '>' : '<', cursor);
    }
    const rows = await query.execute();
    const hasMore = rows.length > request.limit;
    const page = hasMore ? rows.slice(0, request.limit) : rows;
    return {
      data: page.map(toMessage),
      nextCursor: hasMore ? String(page.at(-1)?.position ?? '') : null,
    };
  }

  /** The messages the given runs wrote into a thread, in thread order. */
  async messagesOfRuns(workspaceId: string, threadId: string, runIds: readonly string[]): Promise<Message[]> {
    if (runIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('thread_id', '=', threadId)
      .where('run_id', 'in', runIds)
      .orderBy('position', 'asc')
      .execute();
    return rows.map(toMessage);
  }

  /** The whole history of a thread, oldest first: what the agent loop sends to the model. */
  async history(threadId: string): Promise<Message[]> {
    const rows = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('thread_id', '=', threadId)
      .orderBy('position', 'asc')
      .execute();
    return rows.map(toMessage);
  }
}
