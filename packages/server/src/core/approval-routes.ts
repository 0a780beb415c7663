import type { ApprovalRoute } from '@runyard/protocol';
import type { ApprovalRecord, Store } from '../store/index.ts';
import { RunyardError } from '../shared/errors.ts';
import type { Caller } from './caller.ts';

/** What the approval routes of a run's policies say about one of its approvals. */
export interface RoutedApproval {
  /** The API keys (ids or names) that may decide it; undefined when no route names its tool. */
  approvers: ReadonlySet<string> | undefined;
  /** A window grant's length when the approver gives none (the first route that sets one). */
  defaultDurationMs: number | undefined;
}

function routeCovers(route: ApprovalRoute, toolName: string): boolean {
  return route.tools.some((tool) => tool === '*' || tool === toolName);
}

/**
 * The routes that decide an approval: those naming its tool, in the policies bound to the agent
 * version its run runs (binding order, then route order). Policies are read now, like the rules of
 * a resumed run: a route changed while the run waits applies to the decision.
 */
export async function routedApproval(store: Store, approval: ApprovalRecord): Promise<RoutedApproval> {
  const run = await store.runs.get(approval.workspaceId, approval.runId);
  const version =
    run === undefined ? undefined : await store.agents.getVersion(run.agentId, run.agentVersion);
  const bound = version?.config.policies ?? [];
  const byName = new Map(
    (await store.policies.findMany(approval.workspaceId, bound)).map((p) => [p.name, p]),
  );
  const routes = bound.flatMap((name) =>
    (byName.get(name)?.approvalRoutes ?? []).filter((route) => routeCovers(route, approval.toolName)),
  );
  if (routes.length === 0) return { approvers: undefined, defaultDurationMs: undefined };
  return {
    approvers: new Set(routes.flatMap((route) => route.approvers)),
    defaultDurationMs: routes.find((route) => route.defaultDurationMs !== undefined)?.defaultDurationMs,
  };
}

/**
 * Only a named approver decides a routed approval: the caller's key, by its id or its name. Any
 * other key, an admin key included, is refused (403), so a route is a real separation of duties.
 */
export async function assertMayDecide(
  store: Store,
  caller: Caller,
  approval: ApprovalRecord,
  routed: RoutedApproval,
): Promise<void> {
  if (routed.approvers === undefined || routed.approvers.has(caller.keyId)) return;
  const key = await store.apiKeys.get(caller.workspaceId, caller.keyId);
  if (key !== undefined && routed.approvers.has(key.name)) return;
  throw new RunyardError(
    'PERMISSION_DENIED',
    `approval '${approval.id}' of tool '${approval.toolName}' may only be decided by its approvers (the approval routes of the agent's policies)`,
    { approvalId: approval.id, tool: approval.toolName },
  );
}
