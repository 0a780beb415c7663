import type { Kysely } from 'kysely';

export const name = '0009-policies';

/**
 * Egress policies (named, per workspace, changed in place: agents bind them by name) and the audit
 * log of every policy decision. Audit rows are never changed or deleted by Runyard.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('policies')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('description', 'text', (column) => column.notNull())
    .addColumn('rules', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('policies_workspace_name')
    .on('policies')
    .columns(['workspace_id', 'name'])
    .unique()
    .execute();

  await db.schema
    .createTable('audit_entries')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('run_id', 'text')
    .addColumn('agent_id', 'text')
    .addColumn('tool_call_id', 'text', (column) => column.notNull())
    .addColumn('tool_name', 'text', (column) => column.notNull())
    .addColumn('resource', 'text', (column) => column.notNull())
    .addColumn('method', 'text', (column) => column.notNull())
    .addColumn('effect', 'text', (column) => column.notNull())
    .addColumn('policy', 'text')
    .addColumn('rule_index', 'integer')
    .addColumn('reason', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .execute();
  // Ids sort by creation time: every filter pages newest first within the workspace.
  await db.schema
    .createIndex('audit_entries_workspace_id')
    .on('audit_entries')
    .columns(['workspace_id', 'id'])
    .execute();
  await db.schema.createIndex('audit_entries_run').on('audit_entries').columns(['run_id', 'id']).execute();
}
