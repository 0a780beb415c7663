import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { parseJson } from '../pagination.ts';

/** Where a note lives: the agent's notes across threads, or the notes of one thread. */
export type MemoryScope = { kind: 'agent' } | { kind: 'thread'; threadId: string };

export interface MemoryEntry {
  key: string;
  value: unknown;
  updatedAt: string;
}

const scopeText = (scope: MemoryScope) => (scope.kind === 'agent' ? 'agent' : `thread:${scope.threadId}`);

/** The `memory` built-in's notes: one value per (workspace, agent, scope, key). */
export class AgentMemoryRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(
    workspaceId: string,
    agentId: string,
    scope: MemoryScope,
    key: string,
  ): Promise<MemoryEntry | undefined> {
    const row = await this.db
      .selectFrom('agent_memory')
      .select(['key', 'value', 'updated_at'])
      .where('workspace_id', '=', workspaceId)
      .where('agent_id', '=', agentId)
      .where('scope', '=', scopeText(scope))
      .where('key', '=', key)
      .executeTakeFirst();
    return row && { key: row.key, value: parseJson<unknown>(row.value), updatedAt: row.updated_at };
  }

  /** Keys in order, with their values, at most `limit`. */
  async list(
    workspaceId: string,
    agentId: string,
    scope: MemoryScope,
    limit: number,
  ): Promise<MemoryEntry[]> {
    const rows = await this.db
      .selectFrom('agent_memory')
      .select(['key', 'value', 'updated_at'])
      .where('workspace_id', '=', workspaceId)
      .where('agent_id', '=', agentId)
      .where('scope', '=', scopeText(scope))
      .orderBy('key')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      key: row.key,
      value: parseJson<unknown>(row.value),
      updatedAt: row.updated_at,
    }));
  }

  async count(workspaceId: string, agentId: string, scope: MemoryScope): Promise<number> {
    const row = await this.db
      .selectFrom('agent_memory')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('workspace_id', '=', workspaceId)
      .where('agent_id', '=', agentId)
      .where('scope', '=', scopeText(scope))
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  /** Inserts or replaces the key's value. */
  async set(
    workspaceId: string,
    agentId: string,
    scope: MemoryScope,
    key: string,
    value: unknown,
    now: string,
  ): Promise<void> {
    const text = JSON.stringify(value);
    await this.db
      .insertInto('agent_memory')
      .values({
        workspace_id: workspaceId,
        agent_id: agentId,
        scope: scopeText(scope),
        thread_id: scope.kind === 'thread' ? scope.threadId : null,
        key,
        value: text,
        updated_at: now,
      })
      .onConflict((conflict) =>
        conflict
          .columns(['workspace_id', 'agent_id', 'scope', 'key'])
          .doUpdateSet({ value: text, updated_at: now }),
      )
      .execute();
  }

  async delete(workspaceId: string, agentId: string, scope: MemoryScope, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('agent_memory')
      .where('workspace_id', '=', workspaceId)
      .where('agent_id', '=', agentId)
      .where('scope', '=', scopeText(scope))
      .where('key', '=', key)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Every agent's notes on a thread: they go with the thread. */
  async deleteThread(workspaceId: string, threadId: string): Promise<void> {
    await this.db
      .deleteFrom('agent_memory')
      .where('workspace_id', '=', workspaceId)
      .where('thread_id', '=', threadId)
      .execute();
  }

  /** Every note of an agent, in every scope: they go with the agent. */
  async deleteAgent(workspaceId: string, agentId: string): Promise<void> {
    await this.db
      .deleteFrom('agent_memory')
      .where('workspace_id', '=', workspaceId)
      .where('agent_id', '=', agentId)
      .execute();
  }
}
