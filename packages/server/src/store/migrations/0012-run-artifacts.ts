import { PostgresAdapter, type Kysely } from 'kysely';

export const name = '0012-run-artifacts';

/**
 * Run artifacts (docs/architecture/tools.md#artifacts): files a tool call keeps for its run, such as
 * the whole body of an http response too large for the model. The bytes live in the row: `blob` on
 * SQLite, `bytea` on PostgreSQL, both read back as a Buffer. Listed per run, oldest first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? 'bytea' : 'blob';
  await db.schema
    .createTable('run_artifacts')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('run_id', 'text', (column) => column.notNull())
    .addColumn('tool_call_id', 'text', (column) => column.notNull())
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('content_type', 'text', (column) => column.notNull())
    .addColumn('size_bytes', 'integer', (column) => column.notNull())
    .addColumn('truncated', 'integer', (column) => column.notNull())
    .addColumn('content', bytes, (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('run_artifacts_run').on('run_artifacts').columns(['run_id', 'id']).execute();
}
