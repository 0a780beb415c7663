import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { upsertAgentSchema, type Agent, type AgentSettings, type UpsertAgent } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { hasErrorCode } from '../../../shared/errors.ts';
import { retryOnConflict } from '../../../shared/retry-on-conflict.ts';
import { parseOrThrow } from '../../validation.ts';
import {
  metadataWith,
  type ExecutionMode,
  toRuntoolsAgent,
  upsertBodySchema,
  type RuntoolsFields,
  type UpsertBody,
} from './agent-fields.ts';
import { RuntoolsError } from './errors.ts';
import { resolveModelReference, unservedModelAdvice, type ResolvedModel } from './models.ts';
import { unlessNotFound } from '../compat-routes.ts';
import { addRoute } from './routing.ts';

const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  /** runtools: every member's agents (admin); a Runyard workspace has no members, so it changes nothing. */
  all: z.enum(['true', 'false']).optional(),
});

const slugParamsSchema = z.strictObject({ slug: z.string().min(1).max(200) });

/** A concurrent writer changed the agent between our read and our write: read and apply again. */
const maxUpsertAttempts = 5;

export function registerAgentRoutes(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'upsertAgent',
    handler: async ({ caller, request }) => {
      const body = parseOrThrow(upsertBodySchema, request.body, 'body');
      const { action, agent, warnings } = await upsertAgent(services, caller, body);
      const fields = toRuntoolsAgent(agent, caller.workspaceId);
      return {
        status: action === 'created' ? 201 : 200,
        body: {
          data: {
            id: agent.id,
            slug: agent.slug,
            action,
            version: agent.version,
            sandboxId: fields.sandboxId,
            targetDeviceId: fields.targetDeviceId,
            endpoint: runEndpoint(request, agent.slug),
          },
          warnings,
        },
      };
    },
  });

  addRoute(app, services, {
    operationId: 'listAgents',
    handler: async ({ caller, request }) => {
      const query = parseOrThrow(listQuerySchema, request.query ?? {}, 'query');
      const page = await services.agents.list(caller, { limit: query.limit, cursor: query.cursor });
      return {
        body: {
          data: page.data.map((agent) => toRuntoolsAgent(agent, caller.workspaceId)),
          hasMore: page.nextCursor !== null,
          nextCursor: page.nextCursor,
        },
      };
    },
  });

  addRoute(app, services, {
    operationId: 'getAgent',
    handler: async ({ caller, request }) => {
      const { slug } = parseOrThrow(slugParamsSchema, request.params, 'path');
      return { body: { data: toRuntoolsAgent(await services.agents.get(caller, slug), caller.workspaceId) } };
    },
  });

  addRoute(app, services, {
    operationId: 'deleteAgent',
    handler: async ({ caller, request }) => {
      const { slug } = parseOrThrow(slugParamsSchema, request.params, 'path');
      const agent = await services.agents.get(caller, slug);
      await services.agents.delete(caller, agent.id);
      return { body: { data: { id: agent.id, slug: agent.slug, deleted: true } } };
    },
  });
}

/**
 * Upsert by slug through the agents service. runtools' fields replace their Runyard counterparts
 * (omitted ones return to their defaults, as in runtools); what only Runyard has (tags, category,
 * status, policies, outputSchema, the other settings, other metadata) is kept. The write carries
 * the ETag of the read, so a concurrent change is never overwritten with stale values.
 * Unchanged behaviour adds no version; runtools knows no `unchanged`, so it reads `updated`.
 */
async function upsertAgent(
  services: Services,
  caller: Caller,
  body: UpsertBody,
): Promise<{ action: 'created' | 'updated'; agent: Agent; warnings: UpsertWarning[] }> {
  const executionMode = body.executionMode ?? (isGiven(body.sandbox) ? 'in_sandbox' : 'managed');
  if (executionMode === 'in_sandbox' && !isGiven(body.sandbox)) {
    throw invalidBody('sandbox', 'in_sandbox agents require a linked sandbox (its ID or name)');
  }
  if (executionMode === 'local-mac' && !isGiven(body.targetDeviceId)) {
    throw invalidBody('targetDeviceId', 'is required for local-mac agents');
  }
  const model = await resolveModelReference(services, caller, body.model ?? undefined);
  const requestedTools = [...new Set(body.tools ?? [])];
  const runnable = await services.modelAccess.resolveTools(caller.workspaceId, requestedTools);
  const warnings = upsertWarnings(body, executionMode, model, requestedTools, runnable);
  const fields: RuntoolsFields = {
    model: body.model ?? null,
    tools: requestedTools,
    sandbox: body.sandbox ?? null,
    executionMode,
    targetDeviceId: body.targetDeviceId ?? null,
    resources: body.resources ?? [],
    unservedModelKind: model.unserved?.kind ?? null,
  };
  const upsertOnce = async (): Promise<{
    action: 'created' | 'updated';
    agent: Agent;
    warnings: UpsertWarning[];
  }> => {
    const existing = await findAgent(services, caller, body.slug);
    const input: UpsertAgent = checked({
      name: body.name ?? body.slug,
      description: body.description ?? '',
      ...(existing !== undefined && {
        category: existing.category ?? undefined,
        subcategory: existing.subcategory ?? undefined,
        tags: existing.tags,
        status: existing.status,
        policies: existing.policies,
        outputSchema: existing.outputSchema,
      }),
      metadata: metadataWith(existing?.metadata ?? {}, fields),
      model: model.reference,
      instructions: body.systemPrompt ?? '',
      tools: requestedTools.filter((name) => runnable.has(name)),
      settings: settingsOf(existing?.settings ?? {}, body),
      env: body.env ?? {},
    });
    // A model no provider serves yet is stored (runs are refused until one does: runs.ts).
    const result = await services.agents.upsert(caller, body.slug, input, existing?.etag, {
      allowUnknownProvider: model.unserved !== undefined,
    });
    return { action: result.action === 'created' ? 'created' : 'updated', agent: result.agent, warnings };
  };
  return retryOnConflict(
    { maxAttempts: maxUpsertAttempts, lostRace: (error) => hasErrorCode(error, 'PRECONDITION_FAILED') },
    upsertOnce,
  );
}

/** Something of an upsert that is stored but not available here yet (the agent runs without it, or not). */
export interface UpsertWarning {
  code: 'model_unavailable' | 'tool_unavailable' | 'sandbox_unavailable' | 'device_unavailable';
  /** The request field it is about (`tools.2`). */
  field: string;
  message: string;
}

/** runtools' core tools that act in a sandbox: no Runyard tool of theirs exists until sandboxes do. */
const sandboxTools = new Set(['exec_command', 'write_stdin', 'apply_patch', 'get_dev_url']);

/**
 * What the upsert stores but this server cannot use yet, said now rather than first at run time:
 * a model no provider serves, tools the agent cannot call, a sandbox or device it cannot reach.
 */
function upsertWarnings(
  body: UpsertBody,
  executionMode: ExecutionMode,
  model: ResolvedModel,
  requestedTools: readonly string[],
  runnable: ReadonlyMap<string, unknown>,
): UpsertWarning[] {
  const warnings: UpsertWarning[] = [];
  if (model.unserved !== undefined) {
    warnings.push({
      code: 'model_unavailable',
      field: 'model',
      message: `${unservedModelAdvice(model.unserved)}; until then a run of this agent is refused (422 model_unavailable)`,
    });
  }
  for (const tool of requestedTools) {
    if (runnable.has(tool)) continue;
    const index = (body.tools ?? []).indexOf(tool);
    warnings.push({
      code: 'tool_unavailable',
      field: `tools.${index}`,
      message: sandboxTools.has(tool)
        ? `'${tool}' acts in a sandbox, and sandboxes are not available on this server yet: the agent runs without it`
        : `no tool named '${tool}' exists in this workspace (register one with POST /v1/tools, then upsert again): the agent runs without it`,
    });
  }
  if (executionMode === 'in_sandbox') {
    warnings.push({
      code: 'sandbox_unavailable',
      field: 'sandbox',
      message: `sandboxes are not available on this server yet: a run of this in_sandbox agent is refused (422 sandbox_unavailable); upsert it with "executionMode": "managed" to run it here`,
    });
  }
  if (executionMode === 'local-mac') {
    warnings.push({
      code: 'device_unavailable',
      field: 'targetDeviceId',
      message: `this server cannot reach local devices: a run of this local-mac agent is refused (422 device_unavailable); upsert it with "executionMode": "managed" to run it here`,
    });
  }
  return warnings;
}

/** The settings runtools names replace; Runyard's others (budgets, timeouts, fallbacks) stay. */
function settingsOf(current: AgentSettings, body: UpsertBody): AgentSettings {
  const {
    maxIterations: _iterations,
    maxOutputTokens: _tokens,
    temperature: _temperature,
    ...kept
  } = current;
  return {
    ...kept,
    ...(body.maxIterations !== undefined && { maxIterations: body.maxIterations }),
    ...(body.maxTokens !== undefined && { maxOutputTokens: body.maxTokens }),
    ...(body.temperature !== undefined && { temperature: body.temperature }),
  };
}

/** The translated agent meets Runyard's own schema (the body schema should already ensure it). */
function checked(input: UpsertAgent): UpsertAgent {
  return parseOrThrow(upsertAgentSchema, input, 'body');
}

function findAgent(services: Services, caller: Caller, slug: string): Promise<Agent | undefined> {
  return unlessNotFound(services.agents.get(caller, slug));
}

function isGiven(value: string | null | undefined): value is string {
  return value !== undefined && value !== null;
}

function invalidBody(path: string, message: string): RuntoolsError {
  return new RuntoolsError(400, 'bad_request', `${path}: ${message}`, {
    issues: [{ path, message, code: 'invalid_value' }],
  });
}

/** The legacy per-agent run URL on this server, as the caller reached it. */
function runEndpoint(request: FastifyRequest, slug: string): string {
  return `${request.protocol}://${request.host}/compat/runtools/v1/agents/${slug}/run`;
}
