import { PostgresAdapter, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { paginate, type Page, type PageRequest } from '../pagination.ts';
import {
  activeStatuses,
  callbackDueAt,
  toRecord,
  type RunCompletion,
  type RunFilter,
  type RunProgress,
  type RunRecord,
  type StoredRequiredAction,
} from './run-records.ts';
import { prepared, progressRow } from './runs-statements.ts';

export type {
  CallbackBodyFormat,
  RunCompletion,
  RunFilter,
  RunOptions,
  RunProgress,
  RunRecord,
  RunSettingsOverride,
  StoredRequiredAction,
} from './run-records.ts';
export class RunRepository {
  private readonly postgres: boolean;

  constructor(private readonly db: Kysely<Database>) {
    this.postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  }

  async insert(run: RunRecord): Promise<void> {
    await prepared.insert.execute(this.db, {
      id: run.id,
      workspace_id: run.workspaceId,
      agent_id: run.agentId,
      agent_version: run.agentVersion,
      thread_id: run.threadId,
      status: run.status,
      input: JSON.stringify(run.input),
      output: run.output === null ? null : JSON.stringify(run.output),
      error: run.error === null ? null : JSON.stringify(run.error),
      input_tokens: run.inputTokens,
      output_tokens: run.outputTokens,
      cost_usd: run.costUsd,
      cost_incomplete: run.costIncomplete ? 1 : 0,
      iterations: run.iterations,
      metadata: JSON.stringify(run.metadata),
      options: JSON.stringify(run.options),
      callback_url: run.callbackUrl,
      callback_secret: run.callbackSecret,
      cancel_requested: run.cancelRequested ? 1 : 0,
      lease_owner: run.leaseOwner,
      lease_expires_at: run.leaseExpiresAt,
      claims: run.claims,
      created_at: run.createdAt,
      started_at: run.startedAt,
      finished_at: run.finishedAt,
      updated_at: run.updatedAt,
      parent_run_id: run.parentRunId ?? null,
      parent_tool_call_id: run.parentToolCallId ?? null,
      depth: run.depth ?? 0,
    });
  }

  async get(workspaceId: string, id: string): Promise<RunRecord | undefined> {
    const row = await prepared.get.executeTakeFirst(this.db, { workspaceId, id });
    return row && toRecord(row);
  }

  /** For workers, which act on behalf of whichever workspace owns the run. */
  async getById(id: string): Promise<RunRecord | undefined> {
    const row = await prepared.getById.executeTakeFirst(this.db, { id });
    return row && toRecord(row);
  }

  async list(workspaceId: string, filter: RunFilter, request: PageRequest): Promise<Page<RunRecord>> {
    let query = this.db.selectFrom('runs').selectAll().where('workspace_id', '=', workspaceId);
    if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
    if (filter.threadId !== undefined) query = query.where('thread_id', '=', filter.threadId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.parentRunId !== undefined) query = query.where('parent_run_id', '=', filter.parentRunId);
    return paginate(query, 'id', request, toRecord);
  }

  /**
   * Runs of a thread in creation order (ids sort by creation time), from `fromId` on, inclusive.
   * Uses the (thread_id, id) index.
   */
  async listOnThread(
    workspaceId: string,
    threadId: string,
    fromId: string | undefined,
    limit: number,
  ): Promise<RunRecord[]> {
    let query = this.db
      .selectFrom('runs')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('thread_id', '=', threadId);
    if (fromId !== undefined) query = query.where('id', '>=', fromId);
    const rows = await query.orderBy('id', 'asc').limit(limit).execute();
    return rows.map(toRecord);
  }

  /** The child runs a parent's tool call started, newest first (a resumed parent may have started two). */
  async childrenOfCall(parentRunId: string, toolCallId: string): Promise<RunRecord[]> {
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('parent_run_id', '=', parentRunId)
      .where('parent_tool_call_id', '=', toolCallId)
      .orderBy('id', 'desc')
      .execute();
    return rows.map(toRecord);
  }

  /**
   * The children of a run that wait: paused (requires_action), or resumed by a decision (queued)
   * and waiting for their parent's next execution to run them (engine/runs/child-runs.ts).
   */
  async waitingChildren(parentRunId: string): Promise<RunRecord[]> {
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('parent_run_id', '=', parentRunId)
      .where('status', 'in', ['queued', 'requires_action'])
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  /**
   * The run, its row locked until the transaction ends on PostgreSQL (SQLite runs one writer at a
   * time): a decision and a pause of the same run then each see the other's writes.
   */
  async getForUpdate(id: string): Promise<RunRecord | undefined> {
    const query = this.db.selectFrom('runs').selectAll().where('id', '=', id);
    const row = await (this.postgres ? query.forUpdate() : query).executeTakeFirst();
    return row && toRecord(row);
  }

  /** Active runs of a thread, oldest first. */
  async activeOnThread(threadId: string): Promise<RunRecord[]> {
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('thread_id', '=', threadId)
      .where('status', 'in', activeStatuses)
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toRecord);
  }

  /**
   * Claims the oldest run that is queued, or running under a lease that expired (its worker died),
   * and that no earlier active run of the same thread is ahead of. On PostgreSQL the candidate row
   * is locked with SKIP LOCKED, so concurrent workers never claim the same run.
   */
  async claimNext(owner: string, now: string, leaseUntil: string): Promise<RunRecord | undefined> {
    const args = { owner, now, leaseUntil };
    if (!this.postgres) {
      // One statement: it takes SQLite's write lock before it reads, so it is atomic across
      // processes, and a worker finding nothing to claim costs one statement, not a transaction.
      const row = await prepared.claimNext.executeTakeFirst(this.db, args);
      return row && toRecord(row);
    }
    return this.db.transaction().execute(async (transaction) => {
      const found = await prepared.claimCandidate.executeTakeFirst(transaction, { now });
      if (found === undefined) return undefined;
      const row = await prepared.claim.executeTakeFirst(transaction, { ...args, id: found.id });
      return row && toRecord(row);
    });
  }

  /** Extends the leases of every active run this owner holds; returns how many it still holds. */
  async renewLeases(owner: string, leaseUntil: string): Promise<number> {
    const result = await this.db
      .updateTable('runs')
      .set({ lease_expires_at: leaseUntil })
      .where('lease_owner', '=', owner)
      .where('status', 'in', ['running', 'requires_action'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Makes this owner's unfinished runs claimable at once (a worker shutting down or restarting). */
  async releaseLeases(owner: string | undefined, now: string): Promise<number> {
    let query = this.db
      .updateTable('runs')
      .set({ lease_expires_at: now, lease_owner: null })
      .where('status', '=', 'running');
    if (owner !== undefined) query = query.where('lease_owner', '=', owner);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async recordProgress(id: string, progress: RunProgress, now: string): Promise<void> {
    await prepared.recordProgress.execute(this.db, { id, now, ...progressRow(progress) });
  }

  async setStatus(id: string, status: 'running' | 'requires_action', now: string): Promise<void> {
    await this.db
      .updateTable('runs')
      .set({ status, updated_at: now })
      .where('id', '=', id)
      .where('status', 'in', activeStatuses)
      .execute();
  }

  /** Ends an active run; false when it had already ended (e.g. cancelled meanwhile). */
  async complete(id: string, completion: RunCompletion, progress: RunProgress): Promise<boolean> {
    const updated = await prepared.complete.executeCountingRows(this.db, {
      id,
      status: completion.status,
      output: completion.output === null ? null : JSON.stringify(completion.output),
      error: completion.error === null ? null : JSON.stringify(completion.error),
      finishedAt: completion.finishedAt,
      ...progressRow(progress),
    });
    return updated > 0n;
  }

  /**
   * Pauses a running run (docs/architecture/approvals.md): it lets go of its lease, holds no worker,
   * and waits in requires_action; false when it is no longer running (cancelled meanwhile).
   */
  async pause(
    id: string,
    action: StoredRequiredAction,
    progress: RunProgress,
    now: string,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('runs')
      .set({
        status: 'requires_action',
        required_action: JSON.stringify(action),
        lease_owner: null,
        lease_expires_at: null,
        input_tokens: progress.inputTokens,
        output_tokens: progress.outputTokens,
        cost_usd: progress.costUsd,
        cost_incomplete: progress.costIncomplete ? 1 : 0,
        iterations: progress.iterations,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Changes what a paused run waits for (some of it arrived); false when it is not paused. */
  async setRequiredAction(id: string, action: StoredRequiredAction, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('runs')
      .set({ required_action: JSON.stringify(action), updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'requires_action')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Puts a paused run back in the queue (what it waited for arrived); false when it is not paused. */
  async resume(id: string, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('runs')
      // claims from 0: a pause is not a worker's death, so pauses never add up to WORKER_LOST.
      .set({ status: 'queued', required_action: null, resumed_at: now, claims: 0, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'requires_action')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * A paused child run executing again under its parent's worker (children are never claimed):
   * running, its timeout counting from now; undefined when it is no longer paused (cancelled).
   */
  async reopenChild(id: string, now: string): Promise<RunRecord | undefined> {
    const row = await this.db
      .updateTable('runs')
      .set({ status: 'running', required_action: null, resumed_at: now, updated_at: now })
      .where('id', '=', id)
      .where('parent_run_id', 'is not', null)
      .where('status', 'in', ['queued', 'requires_action'])
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Ends a run that no worker holds (queued, or paused in requires_action); false when a worker got it first. */
  async cancelIfQueued(id: string, completion: RunCompletion): Promise<boolean> {
    const result = await this.db
      .updateTable('runs')
      .set((eb) => ({
        status: completion.status,
        error: completion.error === null ? null : JSON.stringify(completion.error),
        finished_at: completion.finishedAt,
        updated_at: completion.finishedAt,
        required_action: null,
        callback_due_at: callbackDueAt(eb, completion.finishedAt),
      }))
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'requires_action'])
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async requestCancel(workspaceId: string, id: string, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('runs')
      .set({ cancel_requested: 1, updated_at: now })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('status', 'in', activeStatuses)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Runs whose next callback attempt is due, the longest-waiting first, with their attempt count. */
  async dueCallbacks(now: string, limit: number): Promise<{ id: string; attempts: number }[]> {
    const rows = await this.db
      .selectFrom('runs')
      .select(['id', 'callback_attempts'])
      .where('callback_due_at', '<=', now)
      .orderBy('callback_due_at')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ id: row.id, attempts: row.callback_attempts }));
  }

  /**
   * Claims callback attempt `attempts + 1` of a run: a compare-and-set on the attempt count, so of
   * several workers (or processes) exactly one wins each attempt. The due time moves to `leaseUntil`:
   * if the claimer dies mid-attempt, the run becomes due again then, as the next attempt.
   */
  async claimCallback(
    id: string,
    attempts: number,
    now: string,
    leaseUntil: string,
  ): Promise<RunRecord | undefined> {
    const row = await this.db
      .updateTable('runs')
      .set({ callback_attempts: attempts + 1, callback_due_at: leaseUntil })
      .where('id', '=', id)
      .where('callback_attempts', '=', attempts)
      .where('callback_due_at', '<=', now)
      .returningAll()
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /**
   * The outcome of a claimed attempt: the next attempt's due time, or null when none follows
   * (delivered, or given up). Ignored when a later attempt has been claimed meanwhile.
   */
  async settleCallback(id: string, attempt: number, nextDueAt: string | null): Promise<void> {
    await this.db
      .updateTable('runs')
      .set({ callback_due_at: nextDueAt })
      .where('id', '=', id)
      .where('callback_attempts', '=', attempt)
      .execute();
  }

  /** Tokens and cost of an agent's runs created since `since` (a budget window). */
  async usageSince(agentId: string, since: string): Promise<{ tokens: number; costUsd: number }> {
    const row = await this.db
      .selectFrom('runs')
      .select((eb) => [
        eb.fn.sum<number>(eb('input_tokens', '+', eb.ref('output_tokens'))).as('tokens'),
        eb.fn.sum<number>('cost_usd').as('cost'),
      ])
      .where('agent_id', '=', agentId)
      .where('created_at', '>=', since)
      .executeTakeFirst();
    return { tokens: Number(row?.tokens ?? 0), costUsd: Number(row?.cost ?? 0) };
  }
}
