import { sql, type Kysely } from 'kysely';

export const name = '0004-compat';

/**
 * What the compat surfaces need beyond the core tables:
 *
 * - `compat_references`: names a surface's clients choose for our resources (a Make `threadId` is
 *   any string) mapped to our ids. One row per (workspace, surface, kind, external id). There is no
 *   foreign key to the resource: kinds differ, and a resource deleted through /v1 leaves a stale
 *   row that the next lookup replaces.
 * - `providers.number`: a stable integer per provider, unique within its workspace (Make's
 *   `makeConnectionId`). Existing providers are numbered 1, 2, … in creation order.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('compat_references')
    .addColumn('workspace_id', 'text', (column) => column.notNull().references('workspaces.id'))
    .addColumn('surface', 'text', (column) => column.notNull())
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('external_id', 'text', (column) => column.notNull())
    .addColumn('internal_id', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('compat_references_pk', ['workspace_id', 'surface', 'kind', 'external_id'])
    .execute();

  // SQLite cannot add a NOT NULL column without a default; every row is numbered right below, and
  // every later insert sets the number, so the 0 is never seen.
  await db.schema
    .alterTable('providers')
    .addColumn('number', 'integer', (column) => column.notNull().defaultTo(0))
    .execute();
  await sql`
    update providers set number = (
      select count(*) from providers as earlier
      where earlier.workspace_id = providers.workspace_id
        and (earlier.created_at < providers.created_at
          or (earlier.created_at = providers.created_at and earlier.id <= providers.id))
    )
  `.execute(db);
  await db.schema
    .createIndex('providers_workspace_number')
    .on('providers')
    .columns(['workspace_id', 'number'])
    .unique()
    .execute();
}
