import { sql, type Kysely } from 'kysely';

export const name = '0006-tools';

/**
 * The tool registry, shaped like agents: `tools` holds what changes in place (the newest version,
 * soft deletion), `tool_versions` the immutable, content-hashed definitions.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tools')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('latest_version', 'integer', (column) => column.notNull())
    .addColumn('revision', 'integer', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addColumn('deleted_at', 'text')
    .execute();
  // A deleted tool frees its name; live names are unique per workspace.
  await db.schema
    .createIndex('tools_workspace_name_live')
    .on('tools')
    .columns(['workspace_id', 'name'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema.createIndex('tools_workspace_id').on('tools').columns(['workspace_id', 'id']).execute();

  await db.schema
    .createTable('tool_versions')
    .addColumn('tool_id', 'text', (column) => column.notNull().references('tools.id'))
    .addColumn('version', 'integer', (column) => column.notNull())
    .addColumn('content_hash', 'text', (column) => column.notNull())
    .addColumn('config', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('tool_versions_pk', ['tool_id', 'version'])
    .execute();
}
