import type { Kysely } from 'kysely';
import type { ApprovalRoute, AuditEntry, Policy, PolicyRule } from '@runyard/protocol';
import type { AuditEntryTable, Database, PolicyTable } from '../schema.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';
import { PreparedQuery, argumentsNamed } from './prepared-query.ts';

const auditColumns = [
  'id',
  'workspace_id',
  'run_id',
  'agent_id',
  'tool_call_id',
  'tool_name',
  'resource',
  'method',
  'effect',
  'policy',
  'rule_index',
  'reason',
  'created_at',
] as const satisfies readonly (keyof AuditEntryTable)[];

/** Every policy decision of a tool call writes one (prepared-query.ts). */
const insertAudit = new PreparedQuery<AuditEntryTable>(
  (db, argument) =>
    db.insertInto('audit_entries').values(argumentsNamed<AuditEntryTable>(auditColumns, argument)),
  auditColumns,
);

const toPolicy = (row: PolicyTable): Policy => ({
  id: row.id,
  name: row.name,
  description: row.description,
  rules: parseJson<PolicyRule[]>(row.rules),
  approvalRoutes: parseJson<ApprovalRoute[]>(row.approval_routes),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toAuditEntry = (row: AuditEntryTable): AuditEntry => ({
  id: row.id,
  runId: row.run_id,
  agentId: row.agent_id,
  toolCallId: row.tool_call_id,
  toolName: row.tool_name,
  resource: row.resource,
  method: row.method,
  effect: row.effect as AuditEntry['effect'],
  policy: row.policy,
  ruleIndex: row.rule_index,
  reason: row.reason,
  createdAt: row.created_at,
});

export interface AuditFilter {
  runId?: string | undefined;
  agentId?: string | undefined;
  effect?: AuditEntry['effect'] | undefined;
  since?: string | undefined;
}

/** Named egress policies of a workspace (changed in place) and the append-only audit log. */
export class PolicyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(workspaceId: string, policy: Policy): Promise<void> {
    await this.db
      .insertInto('policies')
      .values({
        id: policy.id,
        workspace_id: workspaceId,
        name: policy.name,
        description: policy.description,
        rules: JSON.stringify(policy.rules),
        approval_routes: JSON.stringify(policy.approvalRoutes),
        created_at: policy.createdAt,
        updated_at: policy.updatedAt,
      })
      .execute();
  }

  async find(workspaceId: string, name: string): Promise<Policy | undefined> {
    const row = await this.db
      .selectFrom('policies')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toPolicy(row);
  }

  /** The policies with these names (names without a policy are simply absent). */
  async findMany(workspaceId: string, names: readonly string[]): Promise<Policy[]> {
    if (names.length === 0) return [];
    const rows = await this.db
      .selectFrom('policies')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('name', 'in', [...new Set(names)])
      .execute();
    return rows.map(toPolicy);
  }

  async list(workspaceId: string, request: PageRequest): Promise<Page<Policy>> {
    const query = this.db.selectFrom('policies').selectAll().where('workspace_id', '=', workspaceId);
    return paginate(query, 'id', request, toPolicy);
  }

  async update(
    workspaceId: string,
    id: string,
    change: { description: string; rules: PolicyRule[]; approvalRoutes: ApprovalRoute[]; updatedAt: string },
  ): Promise<void> {
    await this.db
      .updateTable('policies')
      .set({
        description: change.description,
        rules: JSON.stringify(change.rules),
        approval_routes: JSON.stringify(change.approvalRoutes),
        updated_at: change.updatedAt,
      })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .execute();
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('policies')
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Slugs of live agents whose draft, staging or production version binds this policy. */
  async agentsUsing(workspaceId: string, policyName: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('agents')
      .innerJoin('agent_versions', 'agent_versions.agent_id', 'agents.id')
      .select(['agents.slug', 'agent_versions.config'])
      .where('agents.workspace_id', '=', workspaceId)
      .where('agents.deleted_at', 'is', null)
      .where('agent_versions.config', 'like', `%"${policyName}"%`)
      .where((eb) =>
        eb.or([
          eb('agent_versions.version', '=', eb.ref('agents.latest_version')),
          eb('agent_versions.version', '=', eb.ref('agents.staging_version')),
          eb('agent_versions.version', '=', eb.ref('agents.production_version')),
        ]),
      )
      .execute();
    // LIKE narrows the rows; parsing the config confirms the name is in `policies`.
    const slugs = rows
      .filter((row) => (parseJson<{ policies?: string[] }>(row.config).policies ?? []).includes(policyName))
      .map((row) => row.slug);
    return [...new Set(slugs)].sort();
  }

  async insertAudit(workspaceId: string, entry: AuditEntry): Promise<void> {
    await insertAudit.execute(this.db, {
      id: entry.id,
      workspace_id: workspaceId,
      run_id: entry.runId,
      agent_id: entry.agentId,
      tool_call_id: entry.toolCallId,
      tool_name: entry.toolName,
      resource: entry.resource,
      method: entry.method,
      effect: entry.effect,
      policy: entry.policy,
      rule_index: entry.ruleIndex,
      reason: entry.reason,
      created_at: entry.createdAt,
    });
  }

  /** Newest first. */
  async listAudit(workspaceId: string, filter: AuditFilter, request: PageRequest): Promise<Page<AuditEntry>> {
    let query = this.db.selectFrom('audit_entries').selectAll().where('workspace_id', '=', workspaceId);
    if (filter.runId !== undefined) query = query.where('run_id', '=', filter.runId);
    if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
    if (filter.effect !== undefined) query = query.where('effect', '=', filter.effect);
    if (filter.since !== undefined) query = query.where('created_at', '>=', filter.since);
    return paginate(query, 'id', request, toAuditEntry);
  }
}
