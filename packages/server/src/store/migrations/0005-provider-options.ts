import type { Kysely } from 'kysely';

export const name = '0005-provider-options';

/**
 * Provider options (which OpenAI API it speaks, its price overrides) as one JSON column, and the
 * summaries of thread history trimmed away before a run.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Existing providers speak chat completions and use the built-in prices: `{}` says exactly that.
  await db.schema
    .alterTable('providers')
    .addColumn('options', 'text', (column) => column.notNull().defaultTo('{}'))
    .execute();

  // A summary is conversation content: it goes with its thread (SQLite enforces the cascade too,
  // connect.ts turns foreign keys on). Thread metadata is user-visible, so the summary lives here.
  await db.schema
    .createTable('thread_summaries')
    .addColumn('thread_id', 'text', (column) =>
      column.primaryKey().references('threads.id').onDelete('cascade'),
    )
    .addColumn('workspace_id', 'text', (column) => column.notNull())
    .addColumn('text', 'text', (column) => column.notNull())
    .addColumn('through_position', 'integer', (column) => column.notNull())
    .addColumn('run_id', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();
}
