import type { AuditEntry, CreatePolicy, Policy, UpdatePolicy } from '@runyard/protocol';
import { enforcePolicies } from '../engine/policies/enforce.ts';
import type { NamedPolicy } from '../engine/policies/evaluate.ts';
import type { Tool } from '../engine/tools/tool.ts';
import { isUniqueViolation, type Page, type PageRequest, type Store } from '../store/index.ts';
import { RunyardError, conflict, notFound } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';

export interface AuditQuery extends PageRequest {
  runId?: string | undefined;
  agent?: string | undefined;
  effect?: AuditEntry['effect'] | undefined;
  since?: string | undefined;
}

/** Who the tools run for: an agent's run, or a direct invoke (no run, no agent). */
export interface PolicyBinding {
  policies: readonly string[];
  agentId: string | null;
}

/** Named egress policies, the audit log, and the tools of a run or invoke put under their policies. */
export class PoliciesService {
  constructor(private readonly store: Store) {}

  async create(caller: Caller, input: CreatePolicy): Promise<Policy> {
    const now = nowIso();
    const policy: Policy = {
      id: newId('policy'),
      name: input.name,
      description: input.description,
      rules: input.rules,
      approvalRoutes: input.approvalRoutes,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.policies.insert(caller.workspaceId, policy);
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict(`a policy named '${input.name}' already exists`, { name: input.name });
      throw error;
    }
    return policy;
  }

  list(caller: Caller, request: PageRequest): Promise<Page<Policy>> {
    return this.store.policies.list(caller.workspaceId, request);
  }

  async get(caller: Caller, name: string): Promise<Policy> {
    const policy = await this.store.policies.find(caller.workspaceId, name);
    if (policy === undefined) throw notFound('policy', name);
    return policy;
  }

  async update(caller: Caller, name: string, change: UpdatePolicy): Promise<Policy> {
    return this.store.transaction(async (store) => {
      const current = await store.policies.find(caller.workspaceId, name);
      if (current === undefined) throw notFound('policy', name);
      const next: Policy = {
        ...current,
        description: change.description ?? current.description,
        rules: change.rules ?? current.rules,
        approvalRoutes: change.approvalRoutes ?? current.approvalRoutes,
        updatedAt: nowIso(),
      };
      await store.policies.update(caller.workspaceId, current.id, next);
      return next;
    });
  }

  /** Refused (409, `details.agents`) while an agent's draft, staging or production version binds it. */
  async delete(caller: Caller, name: string): Promise<void> {
    await this.store.transaction(async (store) => {
      const current = await store.policies.find(caller.workspaceId, name);
      if (current === undefined) throw notFound('policy', name);
      const agents = await store.policies.agentsUsing(caller.workspaceId, name);
      if (agents.length > 0) throw conflict(`policy '${name}' is bound to agents`, { agents });
      await store.policies.delete(caller.workspaceId, current.id);
    });
  }

  async audit(caller: Caller, query: AuditQuery): Promise<Page<AuditEntry>> {
    let agentId: string | undefined;
    if (query.agent !== undefined) {
      const agent = await this.store.agents.find(caller.workspaceId, query.agent);
      if (agent === undefined) return { data: [], nextCursor: null };
      agentId = agent.id;
    }
    return this.store.policies.listAudit(
      caller.workspaceId,
      { runId: query.runId, agentId, effect: query.effect, since: query.since },
      { limit: query.limit, cursor: query.cursor },
    );
  }

  /** A 400 naming each unknown policy at `<field>.<index>` (agent create/update/upsert, invoke). */
  async assertExist(workspaceId: string, names: readonly string[], field: string): Promise<void> {
    if (names.length === 0) return;
    const found = new Set(
      (await this.store.policies.findMany(workspaceId, names)).map((policy) => policy.name),
    );
    const issues = names
      .map((name, index) => ({ name, index }))
      .filter(({ name }) => !found.has(name))
      .map(({ name, index }) => ({
        path: `${field}.${index}`,
        message: `no policy named '${name}' exists in this workspace`,
        code: 'invalid_value',
      }));
    if (issues.length === 0) return;
    throw new RunyardError(
      'VALIDATION_FAILED',
      `${field}: ${issues.map((issue) => issue.message).join('; ')}`,
      {
        location: 'body',
        issues,
      },
    );
  }

  /**
   * The tools, each under the bound policies (read now: a run uses the rules as they are when it
   * starts or resumes). Every decision is stored in the audit log before it is acted on.
   */
  async enforce(
    workspaceId: string,
    tools: Map<string, Tool>,
    binding: PolicyBinding,
  ): Promise<Map<string, Tool>> {
    const records = await this.store.policies.findMany(workspaceId, binding.policies);
    const byName = new Map(records.map((policy) => [policy.name, policy]));
    // Binding order is kept: it decides which rule is reported when several of one effect match.
    const policies: NamedPolicy[] = binding.policies.flatMap((name) => {
      const policy = byName.get(name);
      return policy === undefined ? [] : [{ name, rules: policy.rules }];
    });
    const enforced = new Map<string, Tool>();
    for (const [name, tool] of tools) {
      enforced.set(
        name,
        enforcePolicies(tool, policies, async (decision, context, when) => {
          const entry = {
            id: newId('audit'),
            runId: context.runId,
            agentId: binding.agentId,
            ...decision,
            createdAt: nowIso(),
          };
          const write = (store: Store) => store.policies.insertAudit(workspaceId, entry);
          await (context.storeWithEvents === undefined
            ? write(this.store)
            : context.storeWithEvents(write, when));
        }),
      );
    }
    return enforced;
  }
}
