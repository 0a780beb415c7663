import type { Kysely } from 'kysely';

export const name = '0010-approvals';

/**
 * Human approval and client tools (docs/architecture/approvals.md): a row per tool call paused for
 * an approval, window grants of an agent, and on runs what a paused run waits for and when it was
 * last resumed (its timeout counts from then: time spent waiting for a human is not the run's).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('approvals')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('run_id', 'text', (column) => column.notNull())
    /** The top-level run of the run's tree: a parent lists its children's approvals by it. */
    .addColumn('root_run_id', 'text', (column) => column.notNull())
    .addColumn('agent_id', 'text', (column) => column.notNull())
    .addColumn('tool_call_id', 'text', (column) => column.notNull())
    .addColumn('tool_name', 'text', (column) => column.notNull())
    .addColumn('arguments', 'text', (column) => column.notNull())
    .addColumn('rule', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('scope', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('reason', 'text')
    .addColumn('edited_arguments', 'text')
    .addColumn('expires_at', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('decided_at', 'text')
    .execute();
  await db.schema
    .createIndex('approvals_workspace_id')
    .on('approvals')
    .columns(['workspace_id', 'id'])
    .execute();
  await db.schema.createIndex('approvals_run').on('approvals').columns(['run_id', 'id']).execute();
  await db.schema.createIndex('approvals_root_run').on('approvals').columns(['root_run_id', 'id']).execute();
  await db.schema
    .createIndex('approvals_pending')
    .on('approvals')
    .columns(['status', 'expires_at'])
    .execute();

  await db.schema
    .createTable('approval_grants')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('agent_id', 'text', (column) => column.notNull())
    .addColumn('policy', 'text')
    .addColumn('rule_index', 'integer')
    .addColumn('tool_name', 'text', (column) => column.notNull())
    .addColumn('approval_id', 'text', (column) => column.notNull())
    .addColumn('expires_at', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('approval_grants_agent')
    .on('approval_grants')
    .columns(['agent_id', 'tool_name', 'expires_at'])
    .execute();

  await db.schema.alterTable('runs').addColumn('required_action', 'text').execute();
  await db.schema.alterTable('runs').addColumn('resumed_at', 'text').execute();
}
