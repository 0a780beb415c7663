import type { Kysely } from 'kysely';
import type { ApprovalRule, ApprovalScope, ApprovalStatus } from '@runyard/protocol';
import type { ApprovalTable, Database } from '../schema.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';

export interface ApprovalRecord {
  id: string;
  workspaceId: string;
  runId: string;
  rootRunId: string;
  agentId: string;
  toolCallId: string;
  toolName: string;
  arguments: unknown;
  rule: ApprovalRule;
  status: ApprovalStatus;
  scope: ApprovalScope | null;
  decidedBy: string | null;
  reason: string | null;
  /** undefined: the approver kept the model's arguments. */
  editedArguments?: unknown;
  expiresAt: string;
  createdAt: string;
  decidedAt: string | null;
}

export interface ApprovalDecision {
  status: Exclude<ApprovalStatus, 'pending'>;
  scope: ApprovalScope | null;
  decidedBy: string | null;
  reason: string | null;
  editedArguments?: unknown;
  decidedAt: string;
}

export interface ApprovalFilter {
  status?: ApprovalStatus | undefined;
  /** Approvals of this run and of every run of its tree below it (they share the root). */
  runId?: string | undefined;
  agentId?: string | undefined;
}

export interface ApprovalGrant {
  id: string;
  workspaceId: string;
  agentId: string;
  policy: string | null;
  ruleIndex: number | null;
  toolName: string;
  approvalId: string;
  expiresAt: string;
  createdAt: string;
}

const toRecord = (row: ApprovalTable): ApprovalRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  runId: row.run_id,
  rootRunId: row.root_run_id,
  agentId: row.agent_id,
  toolCallId: row.tool_call_id,
  toolName: row.tool_name,
  arguments: parseJson<unknown>(row.arguments),
  rule: parseJson<ApprovalRule>(row.rule),
  status: row.status as ApprovalStatus,
  scope: row.scope as ApprovalScope | null,
  decidedBy: row.decided_by,
  reason: row.reason,
  ...(row.edited_arguments !== null && { editedArguments: parseJson<unknown>(row.edited_arguments) }),
  expiresAt: row.expires_at,
  createdAt: row.created_at,
  decidedAt: row.decided_at,
});

/** Tool calls paused for a human decision, and the `window` grants those decisions made. */
export class ApprovalRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(approvals: readonly ApprovalRecord[]): Promise<void> {
    if (approvals.length === 0) return;
    await this.db
      .insertInto('approvals')
      .values(
        approvals.map((approval) => ({
          id: approval.id,
          workspace_id: approval.workspaceId,
          run_id: approval.runId,
          root_run_id: approval.rootRunId,
          agent_id: approval.agentId,
          tool_call_id: approval.toolCallId,
          tool_name: approval.toolName,
          arguments: JSON.stringify(approval.arguments ?? null),
          rule: JSON.stringify(approval.rule),
          status: approval.status,
          scope: approval.scope,
          decided_by: approval.decidedBy,
          reason: approval.reason,
          edited_arguments:
            approval.editedArguments === undefined ? null : JSON.stringify(approval.editedArguments),
          expires_at: approval.expiresAt,
          created_at: approval.createdAt,
          decided_at: approval.decidedAt,
        })),
      )
      .execute();
  }

  async get(workspaceId: string, id: string): Promise<ApprovalRecord | undefined> {
    const row = await this.db
      .selectFrom('approvals')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  async list(
    workspaceId: string,
    filter: ApprovalFilter,
    request: PageRequest,
  ): Promise<Page<ApprovalRecord>> {
    let query = this.db.selectFrom('approvals').selectAll().where('workspace_id', '=', workspaceId);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
    if (filter.runId !== undefined) {
      const runId = filter.runId;
      query = query.where((eb) => eb.or([eb('run_id', '=', runId), eb('root_run_id', '=', runId)]));
    }
    return paginate(query, 'id', request, toRecord);
  }

  /** Every approval of one run, oldest first: what a resumed run's calls look up. */
  async ofRun(runId: string): Promise<ApprovalRecord[]> {
    const rows = await this.db
      .selectFrom('approvals')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  /** The approvals among `ids` that are still pending, in the order of `ids`. */
  async pendingAmong(ids: readonly string[]): Promise<ApprovalRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('approvals')
      .selectAll()
      .where('id', 'in', [...ids])
      .where('status', '=', 'pending')
      .execute();
    const byId = new Map(rows.map((row) => [row.id, toRecord(row)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Decides a pending approval; false when it was decided (or expired) already. */
  async decide(id: string, decision: ApprovalDecision): Promise<boolean> {
    const result = await this.db
      .updateTable('approvals')
      .set({
        status: decision.status,
        scope: decision.scope,
        decided_by: decision.decidedBy,
        reason: decision.reason,
        edited_arguments:
          decision.editedArguments === undefined ? null : JSON.stringify(decision.editedArguments),
        decided_at: decision.decidedAt,
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Pending approvals whose time is up, the oldest first. */
  async due(now: string, limit: number): Promise<ApprovalRecord[]> {
    const rows = await this.db
      .selectFrom('approvals')
      .selectAll()
      .where('status', '=', 'pending')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }

  async insertGrant(grant: ApprovalGrant): Promise<void> {
    await this.db
      .insertInto('approval_grants')
      .values({
        id: grant.id,
        workspace_id: grant.workspaceId,
        agent_id: grant.agentId,
        policy: grant.policy,
        rule_index: grant.ruleIndex,
        tool_name: grant.toolName,
        approval_id: grant.approvalId,
        expires_at: grant.expiresAt,
        created_at: grant.createdAt,
      })
      .execute();
  }

  /** Whether a grant of the agent for this rule and tool is still in force at `now`. */
  async hasGrant(
    agentId: string,
    rule: { policy: string | null; ruleIndex: number | null; toolName: string },
    now: string,
  ): Promise<boolean> {
    let query = this.db
      .selectFrom('approval_grants')
      .select('id')
      .where('agent_id', '=', agentId)
      .where('tool_name', '=', rule.toolName)
      .where('expires_at', '>', now);
    query =
      rule.policy === null ? query.where('policy', 'is', null) : query.where('policy', '=', rule.policy);
    query =
      rule.ruleIndex === null
        ? query.where('rule_index', 'is', null)
        : query.where('rule_index', '=', rule.ruleIndex);
    return (await query.limit(1).executeTakeFirst()) !== undefined;
  }
}
