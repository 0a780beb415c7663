import { PostgresAdapter, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely';
import type {
  AgentSettings,
  InputMessage,
  OnConflict,
  RunError,
  RunOutput,
  RunStatus,
} from '@runyard/protocol';
import type { Database, RunTable } from '../schema.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';
import { PreparedQuery, argumentsNamed } from './prepared-query.ts';

/** What the run was asked to do, beyond its input. */
export interface RunOptions {
  environment: string | null;
  mode: 'wait' | 'stream' | 'background';
  onConflict: OnConflict;
  stateless: boolean;
  /** Per-run overrides of the agent version's settings (absent on runs that have none). */
  settings?: RunSettingsOverride;
  /** How the callback body is rendered (engine/callback-bodies.ts); absent: the Runyard run JSON. */
  callbackBody?: CallbackBodyFormat;
}

/** A compat surface's callback body: Make's run result, naming the thread as its client does. */
export interface CallbackBodyFormat {
  format: 'make';
  /** The client's own name for the thread; absent: our thread id as a uuid. */
  threadId?: string;
}

/** The settings a single run may override; the rest stay as the agent version froze them. */
export type RunSettingsOverride = Pick<AgentSettings, 'temperature' | 'maxOutputTokens' | 'maxIterations'>;

export interface RunRecord {
  id: string;
  workspaceId: string;
  agentId: string;
  agentVersion: number;
  threadId: string | null;
  status: RunStatus;
  input: InputMessage[];
  output: RunOutput | null;
  error: RunError | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  costIncomplete: boolean;
  iterations: number;
  metadata: Record<string, unknown>;
  options: RunOptions;
  callbackUrl: string | null;
  /** Sealed with the master key; opened only to sign a delivery. */
  callbackSecret: string | null;
  cancelRequested: boolean;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  claims: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  /**
   * A child run's parent and the parent's tool call that started it (engine/child-runs.ts), and the
   * number of its ancestors. Read back always set; absent on insert means a top-level run.
   */
  parentRunId?: string | null;
  parentToolCallId?: string | null;
  depth?: number;
  /** What a run in requires_action waits for (docs/architecture/approvals.md); read back always set. */
  requiredAction?: StoredRequiredAction | null;
  /** When the run last went back to the queue after a pause: its timeout counts from then. */
  resumedAt?: string | null;
}

/** A paused run's wait, as stored: client tool calls keep their step for the results' events. */
export type StoredRequiredAction =
  | {
      type: 'tool_outputs';
      step: number;
      toolCalls: { toolCallId: string; toolName: string; input: unknown }[];
    }
  | { type: 'approval'; approvals: string[] };

const activeStatuses: RunStatus[] = ['queued', 'running', 'requires_action'];

const toRecord = (row: Selectable<RunTable>): RunRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  agentId: row.agent_id,
  agentVersion: row.agent_version,
  threadId: row.thread_id,
  status: row.status as RunStatus,
  input: parseJson<InputMessage[]>(row.input),
  output: row.output === null ? null : parseJson<RunOutput>(row.output),
  error: row.error === null ? null : parseJson<RunError>(row.error),
  inputTokens: row.input_tokens,
  outputTokens: row.output_tokens,
  costUsd: Number(row.cost_usd),
  costIncomplete: row.cost_incomplete === 1,
  iterations: row.iterations,
  metadata: parseJson<Record<string, unknown>>(row.metadata),
  options: parseJson<RunOptions>(row.options),
  callbackUrl: row.callback_url,
  callbackSecret: row.callback_secret,
  cancelRequested: row.cancel_requested === 1,
  leaseOwner: row.lease_owner,
  leaseExpiresAt: row.lease_expires_at,
  claims: row.claims,
  createdAt: row.created_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  updatedAt: row.updated_at,
  parentRunId: row.parent_run_id,
  parentToolCallId: row.parent_tool_call_id,
  depth: row.depth,
  requiredAction: row.required_action === null ? null : parseJson<StoredRequiredAction>(row.required_action),
  resumedAt: row.resumed_at,
});

/**
 * A run with a callback URL has its first callback attempt due the moment it ends. Set in the very
 * statement that ends the run, so no ended run ever misses its callback (callback-scheduler.ts).
 */
const callbackDueAt = (eb: ExpressionBuilder<Database, 'runs'>, finishedAt: string) =>
  eb
    .case()
    .when('callback_url', 'is not', null)
    .then(eb.val<string | null>(finishedAt))
    .else(eb.val<string | null>(null))
    .end();

export interface RunFilter {
  agentId?: string | undefined;
  threadId?: string | undefined;
  status?: RunStatus | undefined;
  parentRunId?: string | undefined;
}

/** The end of a run: written once, only while the run is still active. */
export interface RunCompletion {
  status: 'succeeded' | 'failed' | 'cancelled';
  output: RunOutput | null;
  error: RunError | null;
  finishedAt: string;
}

export interface RunProgress {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  costIncomplete: boolean;
  iterations: number;
}

/**
 * The oldest run that is queued, or running under a lease that expired (its worker died), and that
 * no earlier active run of the same thread is ahead of.
 */
const claimCandidate = (db: Kysely<Database>, now: string) =>
  db
    .selectFrom('runs as candidate')
    .select('candidate.id')
    .where((eb) =>
      eb.or([
        eb('candidate.status', '=', 'queued'),
        // `<=`: a lease released at `now` (releaseLeases) is claimable in that same millisecond.
        eb.and([eb('candidate.status', '=', 'running'), eb('candidate.lease_expires_at', '<=', now)]),
      ]),
    )
    // A child run is executed inline by its parent's worker, never claimed from the queue.
    .where('candidate.parent_run_id', 'is', null)
    // One run at a time per thread, in id order. Ids are chosen before their insert commits, so a
    // later id can be claimed first; then an earlier one waits for it rather than running beside it.
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('runs as other')
            .select('other.id')
            .whereRef('other.thread_id', '=', 'candidate.thread_id')
            .whereRef('other.id', '<>', 'candidate.id')
            .where((inner) =>
              inner.or([
                inner('other.status', 'in', ['running', 'requires_action']),
                inner.and([
                  inner('other.status', '=', 'queued'),
                  inner('other.id', '<', inner.ref('candidate.id')),
                ]),
              ]),
            ),
        ),
      ),
    )
    .orderBy('candidate.id')
    .limit(1);

/** The columns a run is inserted with: every one, so the prepared insert has one shape. */
const insertColumns = [
  'id',
  'workspace_id',
  'agent_id',
  'agent_version',
  'thread_id',
  'status',
  'input',
  'output',
  'error',
  'input_tokens',
  'output_tokens',
  'cost_usd',
  'cost_incomplete',
  'iterations',
  'metadata',
  'options',
  'callback_url',
  'callback_secret',
  'cancel_requested',
  'lease_owner',
  'lease_expires_at',
  'claims',
  'created_at',
  'started_at',
  'finished_at',
  'updated_at',
  'parent_run_id',
  'parent_tool_call_id',
  'depth',
] as const;
type InsertRow = { [Column in (typeof insertColumns)[number]]: Selectable<RunTable>[Column] };

interface ClaimArguments extends Record<string, unknown> {
  owner: string;
  now: string;
  leaseUntil: string;
}

const claimSet = (eb: ExpressionBuilder<Database, 'runs'>, args: ClaimArguments) => ({
  status: 'running',
  lease_owner: args.owner,
  lease_expires_at: args.leaseUntil,
  claims: eb('claims', '+', 1),
  started_at: eb.fn.coalesce('started_at', eb.val(args.now)),
  updated_at: args.now,
});

const progressColumns = [
  'input_tokens',
  'output_tokens',
  'cost_usd',
  'cost_incomplete',
  'iterations',
] as const;
type RunProgressRow = { [Column in (typeof progressColumns)[number]]: number };

const progressArguments = (
  argument: <Name extends keyof RunProgressRow>(name: Name) => RunProgressRow[Name],
) => argumentsNamed<RunProgressRow>(progressColumns, argument);

const progressRow = (progress: RunProgress): RunProgressRow => ({
  input_tokens: progress.inputTokens,
  output_tokens: progress.outputTokens,
  cost_usd: progress.costUsd,
  cost_incomplete: progress.costIncomplete ? 1 : 0,
  iterations: progress.iterations,
});

/** The statements of every run, built once (prepared-query.ts). */
const prepared = {
  insert: new PreparedQuery<InsertRow>(
    (db, argument) => db.insertInto('runs').values(argumentsNamed<InsertRow>(insertColumns, argument)),
    insertColumns,
  ),
  get: new PreparedQuery<{ workspaceId: string; id: string }, Selectable<RunTable>>(
    (db, argument) =>
      db
        .selectFrom('runs')
        .selectAll()
        .where('workspace_id', '=', argument('workspaceId'))
        .where('id', '=', argument('id')),
    ['workspaceId', 'id'],
  ),
  getById: new PreparedQuery<{ id: string }, Selectable<RunTable>>(
    (db, argument) => db.selectFrom('runs').selectAll().where('id', '=', argument('id')),
    ['id'],
  ),
  /** SQLite: the candidate and the claim in one statement (see claimNext). */
  claimNext: new PreparedQuery<ClaimArguments, Selectable<RunTable>>(
    (db, argument) => {
      const args = { owner: argument('owner'), now: argument('now'), leaseUntil: argument('leaseUntil') };
      return db
        .updateTable('runs')
        .set((eb) => claimSet(eb, args))
        .where('id', '=', claimCandidate(db, args.now))
        .returningAll();
    },
    ['owner', 'now', 'leaseUntil'],
  ),
  /** PostgreSQL: the candidate, locked, then the claim (see claimNext). */
  claimCandidate: new PreparedQuery<{ now: string }, { id: string }>(
    (db, argument) => claimCandidate(db, argument('now')).forUpdate().skipLocked(),
    ['now'],
  ),
  claim: new PreparedQuery<ClaimArguments & { id: string }, Selectable<RunTable>>(
    (db, argument) => {
      const args = { owner: argument('owner'), now: argument('now'), leaseUntil: argument('leaseUntil') };
      return db
        .updateTable('runs')
        .set((eb) => claimSet(eb, args))
        .where('id', '=', argument('id'))
        .returningAll();
    },
    ['owner', 'now', 'leaseUntil', 'id'],
  ),
  recordProgress: new PreparedQuery<RunProgressRow & { id: string; now: string }>(
    (db, argument) =>
      db
        .updateTable('runs')
        .set({ ...progressArguments(argument), updated_at: argument('now') })
        .where('id', '=', argument('id')),
    ['id', 'now', ...progressColumns],
  ),
  complete: new PreparedQuery<
    RunProgressRow & {
      id: string;
      status: string;
      output: string | null;
      error: string | null;
      finishedAt: string;
    }
  >(
    (db, argument) =>
      db
        .updateTable('runs')
        .set((eb) => ({
          status: argument('status'),
          output: argument('output'),
          error: argument('error'),
          finished_at: argument('finishedAt'),
          updated_at: argument('finishedAt'),
          ...progressArguments(argument),
          lease_owner: null,
          lease_expires_at: null,
          required_action: null,
          callback_due_at: callbackDueAt(eb, argument('finishedAt')),
        }))
        .where('id', '=', argument('id'))
        .where('status', 'in', activeStatuses),
    ['id', 'status', 'output', 'error', 'finishedAt', ...progressColumns],
  ),
};

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
