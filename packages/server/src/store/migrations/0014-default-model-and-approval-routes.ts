import type { Kysely } from 'kysely';

export const name = '0014-default-model-and-approval-routes';

/**
 * - `workspaces.default_model`: the `provider/model` an agent uses when its definition names none
 *   (a runagents deploy without `llm_configs`); null until set (the starter kits set the playground).
 * - `policies.approval_routes`: JSON, who may decide the approvals of which tools under a policy and
 *   the default length of a window grant (docs/architecture/approvals.md). `[]`: anyone with `run`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workspaces').addColumn('default_model', 'text').execute();
  await db.schema
    .alterTable('policies')
    .addColumn('approval_routes', 'text', (column) => column.notNull().defaultTo('[]'))
    .execute();
}
