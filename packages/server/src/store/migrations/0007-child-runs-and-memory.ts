import type { Kysely } from 'kysely';

export const name = '0007-child-runs-and-memory';

/**
 * Child runs (an agent called as a tool) and the `memory` built-in's notes.
 *
 * `runs.parent_run_id` links a child to the run whose tool call started it; `parent_tool_call_id`
 * is that call, so a resumed parent finds the child it already started instead of starting another.
 * `depth` counts the ancestors (0 for a top-level run) and caps recursion.
 *
 * `agent_memory` holds one value per (workspace, agent, scope, key). `scope` is `agent` or
 * `thread:<threadId>`: one non-null column keeps the unique index simple on both dialects (a null
 * thread would not collide with another null in a unique index).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('parent_run_id', 'text').execute();
  await db.schema.alterTable('runs').addColumn('parent_tool_call_id', 'text').execute();
  await db.schema
    .alterTable('runs')
    .addColumn('depth', 'integer', (column) => column.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('runs_parent')
    .on('runs')
    .columns(['parent_run_id', 'parent_tool_call_id', 'id'])
    .execute();

  await db.schema
    .createTable('agent_memory')
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('agent_id', 'text', (column) => column.notNull())
    .addColumn('scope', 'text', (column) => column.notNull())
    .addColumn('thread_id', 'text')
    .addColumn('key', 'text', (column) => column.notNull())
    .addColumn('value', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('agent_memory_pk', ['workspace_id', 'agent_id', 'scope', 'key'])
    .execute();
  await db.schema
    .createIndex('agent_memory_thread')
    .on('agent_memory')
    .columns(['workspace_id', 'thread_id'])
    .execute();
}
