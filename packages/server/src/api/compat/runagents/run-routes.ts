import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import {
  approvalScopeSchema,
  maxApprovalWindowMs,
  metadataSchema,
  type Approval,
  type Run,
  type RunStatus,
} from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { RunagentsError, badRequest } from './errors.ts';
import { renamed, withSurfaceFields } from './field-names.ts';
import { addRoute, assertSameNamespace, type RouteContext } from './routing.ts';
import { unlessNotFound } from '../compat-routes.ts';
import {
  runagentsStatus,
  runagentsStatuses,
  runyardStatuses,
  toRunagentsEvents,
  toRunagentsRun,
  type RunagentsStatus,
} from './run-view.ts';

/** `agent_id`: the agent's name, `<namespace>/<name>`, or its Runyard id. */
const agentReferenceSchema = z.string().min(1).max(300);

const createRunSchema = z.strictObject({
  agent_id: agentReferenceSchema,
  namespace: z.string().max(200).optional(),
  input: z.string().min(1).max(1_000_000),
  metadata: metadataSchema.optional(),
  /** Runyard: answer when the run has ended (or paused) instead of at once. */
  wait: z.boolean().default(false),
});

const listRunsQuerySchema = z.strictObject({
  agent_id: agentReferenceSchema.optional(),
  status: z.enum(runagentsStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const runParamsSchema = z.strictObject({ id: z.string().min(1).max(200) });

/** Which pending call: `approval_id`, or the run's only pending approval. */
const approveBodySchema = z.strictObject({
  approval_id: z.string().min(1).max(200).optional(),
  scope: approvalScopeSchema.default('once'),
  /** A `window` grant's length; 4 hours by default. */
  duration_ms: z.number().int().min(1).max(maxApprovalWindowMs).optional(),
  /** Replaces the model's arguments for this call. */
  arguments: z.unknown().optional(),
});

const denyBodySchema = z.strictObject({
  approval_id: z.string().min(1).max(200).optional(),
  reason: z.string().min(1).max(2000).optional(),
});

/**
 * The pending approval a decision is about. runagents decides per run; a run can wait on several
 * calls at once, and then `approval_id` must say which (400 listing them).
 */
async function pendingApprovalOf(
  services: Services,
  context: RouteContext,
  runId: string,
  approvalId: string | undefined,
): Promise<string> {
  await services.runs.get(context.caller, runId);
  const pending = (
    await services.approvals.list(context.caller, { limit: 200, runId, status: 'pending' })
  ).data.filter((approval) => approval.runId === runId);
  if (approvalId !== undefined) {
    if (!pending.some((approval) => approval.id === approvalId)) {
      throw new RunagentsError(409, 'conflict', `run '${runId}' has no pending approval '${approvalId}'`);
    }
    return approvalId;
  }
  const [only, ...others] = pending;
  if (only === undefined) {
    throw new RunagentsError(409, 'conflict', `run '${runId}' is not waiting for an approval`);
  }
  if (others.length > 0) {
    throw badRequest(`approval_id: run '${runId}' waits for several approvals; name one`, {
      approvals: pending.map((approval) => ({ id: approval.id, tool: approval.toolName })),
    });
  }
  return only.id;
}

function toRunagentsApproval(approval: Approval) {
  return {
    id: approval.id,
    run_id: approval.runId,
    tool: approval.toolName,
    status:
      approval.status === 'approved'
        ? 'APPROVED'
        : approval.status === 'denied'
          ? 'REJECTED'
          : approval.status.toUpperCase(),
    scope: approval.scope,
    reason: approval.reason,
    decided_at: approval.decidedAt,
  };
}

/** `namespace/name` → name, when the namespace is the request's; another namespace finds nothing. */
function agentNameOf(context: RouteContext, reference: string): string {
  const slash = reference.indexOf('/');
  if (slash === -1) return reference;
  const namespace = reference.slice(0, slash);
  if (namespace !== context.namespace && namespace !== context.caller.workspaceId) {
    throw new RunagentsError(404, 'not_found', `agent '${reference}' was not found`);
  }
  return reference.slice(slash + 1);
}

/** Agent ids → names for the runs shown (a deleted agent keeps its id). */
async function agentNames(services: Services, caller: Caller, runs: readonly Run[]) {
  const names = new Map<string, string>();
  for (const agentId of new Set(runs.map((run) => run.agentId))) {
    const agent = await unlessNotFound(services.agents.get(caller, agentId));
    names.set(agentId, agent?.slug ?? agentId);
  }
  return names;
}

/**
 * Up to `limit` runs of one Runyard status (newest first) that show as `wanted`: a paused run is
 * PAUSED_APPROVAL or PAUSED_CONSENT by what it waits for, so those pages are filtered and read on.
 */
async function runsOfStatus(
  services: Services,
  caller: Caller,
  request: { limit: number; agent: string | undefined; status: RunStatus | undefined },
  wanted: RunagentsStatus | undefined,
): Promise<Run[]> {
  const runs: Run[] = [];
  let cursor: string | undefined;
  do {
    const page = await services.runs.list(caller, { ...request, cursor });
    runs.push(...page.data.filter((run) => wanted === undefined || runagentsStatus(run) === wanted));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && runs.length < request.limit);
  return runs.slice(0, request.limit);
}

export function registerRunRoutes(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'createRun',
    handler: async (context) => {
      const body = parseOrThrow(createRunSchema, context.request.body, 'body');
      assertSameNamespace(context, body.namespace, 'namespace');
      const agent = await services.agents.get(context.caller, agentNameOf(context, body.agent_id));
      let run = await services.runs.create(context.caller, agent.id, {
        input: body.input,
        environment: 'draft',
        mode: body.wait ? 'wait' : 'background',
        onConflict: 'enqueue',
        ...(body.metadata !== undefined && { metadata: body.metadata }),
      });
      if (body.wait) {
        const disconnected = new AbortController();
        context.request.raw.once('close', () => disconnected.abort());
        run = await services.runs.waitForEnd(context.caller, run.id, disconnected.signal);
      }
      return { status: 201, body: toRunagentsRun(run, agent.slug, context.namespace) };
    },
  });

  addRoute(app, services, {
    operationId: 'listRuns',
    handler: async (context) => {
      const query = parseOrThrow(listRunsQuerySchema, context.request.query ?? {}, 'query');
      const agent =
        query.agent_id === undefined
          ? undefined
          : await unlessNotFound(services.agents.get(context.caller, agentNameOf(context, query.agent_id)));
      if (query.agent_id !== undefined && agent === undefined) return { body: [] };
      // One runagents status stands for one or two of ours (and a paused run for one of two of
      // theirs): newest first across them, each read until it has `limit` runs of the status.
      const statuses = query.status === undefined ? [undefined] : runyardStatuses(query.status);
      const found = await Promise.all(
        statuses.map((status) =>
          runsOfStatus(
            services,
            context.caller,
            { limit: query.limit, agent: agent?.id, status },
            query.status,
          ),
        ),
      );
      const runs = found
        .flat()
        .sort(
          (left, right) => right.createdAt.localeCompare(left.createdAt) || right.id.localeCompare(left.id),
        )
        .slice(0, query.limit);
      const names = await agentNames(services, context.caller, runs);
      return {
        body: runs.map((run) =>
          toRunagentsRun(run, names.get(run.agentId) ?? run.agentId, context.namespace),
        ),
      };
    },
  });

  addRoute(app, services, {
    operationId: 'getRun',
    handler: async (context) => {
      const { id } = parseOrThrow(runParamsSchema, context.request.params, 'path');
      const run = await services.runs.get(context.caller, id);
      const names = await agentNames(services, context.caller, [run]);
      return { body: toRunagentsRun(run, names.get(run.agentId) ?? run.agentId, context.namespace) };
    },
  });

  addRoute(app, services, {
    operationId: 'listRunEvents',
    handler: async (context) => {
      const { id } = parseOrThrow(runParamsSchema, context.request.params, 'path');
      const events = await services.runs.events(context.caller, id, 0, 10_000);
      return { body: toRunagentsEvents(events) };
    },
  });

  addRoute(app, services, {
    operationId: 'approveRun',
    handler: async (context) => {
      const { id } = parseOrThrow(runParamsSchema, context.request.params, 'path');
      const body = parseOrThrow(approveBodySchema, context.request.body ?? {}, 'body');
      const approvalId = await pendingApprovalOf(services, context, id, body.approval_id);
      const approval = await withSurfaceFields([renamed('durationMs', 'duration_ms')], () =>
        services.approvals.approve(context.caller, approvalId, {
          scope: body.scope,
          ...(body.duration_ms !== undefined && { durationMs: body.duration_ms }),
          ...(body.arguments !== undefined && { arguments: body.arguments }),
        }),
      );
      return { body: toRunagentsApproval(approval) };
    },
  });

  addRoute(app, services, {
    operationId: 'denyRun',
    handler: async (context) => {
      const { id } = parseOrThrow(runParamsSchema, context.request.params, 'path');
      const body = parseOrThrow(denyBodySchema, context.request.body ?? {}, 'body');
      const approvalId = await pendingApprovalOf(services, context, id, body.approval_id);
      const approval = await services.approvals.deny(context.caller, approvalId, {
        ...(body.reason !== undefined && { reason: body.reason }),
      });
      return { body: toRunagentsApproval(approval) };
    },
  });
}
