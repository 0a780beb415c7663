import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import type { Database, RunTable } from '../schema.ts';
import { PreparedQuery, argumentsNamed } from './prepared-query.ts';
import { activeStatuses, callbackDueAt, type RunProgress } from './run-records.ts';

// The statements every run sends, built once per database (prepared-query.ts); runs.ts runs them.
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

export const progressRow = (progress: RunProgress): RunProgressRow => ({
  input_tokens: progress.inputTokens,
  output_tokens: progress.outputTokens,
  cost_usd: progress.costUsd,
  cost_incomplete: progress.costIncomplete ? 1 : 0,
  iterations: progress.iterations,
});

/** The statements of every run, built once (prepared-query.ts). */
export const prepared = {
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
