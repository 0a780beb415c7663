import type { Kysely } from 'kysely';

export const name = '0002-runs';

/** Threads and their messages, runs, each run's event log, and callback deliveries. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('threads')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('title', 'text')
    .addColumn('metadata', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('threads_workspace_id').on('threads').columns(['workspace_id', 'id']).execute();

  // `position` orders a thread's messages; (thread_id, position) is unique, so two runs can never
  // interleave their writes into one thread unnoticed.
  await db.schema
    .createTable('messages')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull())
    .addColumn('thread_id', 'text', (column) => column.notNull().references('threads.id'))
    .addColumn('run_id', 'text')
    .addColumn('position', 'integer', (column) => column.notNull())
    .addColumn('role', 'text', (column) => column.notNull())
    .addColumn('content', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addUniqueConstraint('messages_thread_position', ['thread_id', 'position'])
    .execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('agent_id', 'text', (column) => column.notNull())
    .addColumn('agent_version', 'integer', (column) => column.notNull())
    .addColumn('thread_id', 'text')
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('input', 'text', (column) => column.notNull())
    .addColumn('output', 'text')
    .addColumn('error', 'text')
    .addColumn('input_tokens', 'integer', (column) => column.notNull())
    .addColumn('output_tokens', 'integer', (column) => column.notNull())
    .addColumn('cost_usd', 'double precision', (column) => column.notNull())
    .addColumn('cost_incomplete', 'integer', (column) => column.notNull())
    .addColumn('iterations', 'integer', (column) => column.notNull())
    .addColumn('metadata', 'text', (column) => column.notNull())
    .addColumn('options', 'text', (column) => column.notNull())
    .addColumn('callback_url', 'text')
    .addColumn('callback_secret', 'text')
    .addColumn('cancel_requested', 'integer', (column) => column.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'text')
    .addColumn('claims', 'integer', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('runs_workspace_id').on('runs').columns(['workspace_id', 'id']).execute();
  await db.schema.createIndex('runs_status').on('runs').columns(['status', 'lease_expires_at']).execute();
  await db.schema.createIndex('runs_thread').on('runs').columns(['thread_id', 'id']).execute();
  await db.schema.createIndex('runs_agent_day').on('runs').columns(['agent_id', 'created_at']).execute();

  await db.schema
    .createTable('run_events')
    .addColumn('run_id', 'text', (column) => column.notNull())
    .addColumn('seq', 'integer', (column) => column.notNull())
    .addColumn('type', 'text', (column) => column.notNull())
    .addColumn('data', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('run_events_pk', ['run_id', 'seq'])
    .execute();

  await db.schema
    .createTable('run_deliveries')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('run_id', 'text', (column) => column.notNull())
    .addColumn('attempt', 'integer', (column) => column.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('delivered', 'integer', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('next_attempt_at', 'text')
    .execute();
  await db.schema.createIndex('run_deliveries_run').on('run_deliveries').columns(['run_id', 'id']).execute();
}
