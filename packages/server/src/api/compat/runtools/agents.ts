import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { upsertAgentSchema, type Agent, type AgentSettings, type UpsertAgent } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { RunyardError, hasErrorCode } from '../../../shared/errors.ts';
import { retryOnConflict } from '../../../shared/retry-on-conflict.ts';
import { parseOrThrow } from '../../validation.ts';
import {
  metadataWith,
  toRuntoolsAgent,
  upsertBodySchema,
  type RuntoolsFields,
  type UpsertBody,
} from './agent-fields.ts';
import { RuntoolsError } from './errors.ts';
import { resolveModelReference } from './models.ts';
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
    method: 'POST',
    url: '/v1/agents',
    scope: 'write',
    handler: async ({ caller, request }) => {
      const body = parseOrThrow(upsertBodySchema, request.body, 'body');
      const { action, agent } = await upsertAgent(services, caller, body);
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
        },
      };
    },
  });

  addRoute(app, services, {
    method: 'GET',
    url: '/v1/agents',
    scope: 'read',
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
    method: 'GET',
    url: '/v1/agents/:slug',
    scope: 'read',
    handler: async ({ caller, request }) => {
      const { slug } = parseOrThrow(slugParamsSchema, request.params, 'path');
      return { body: { data: toRuntoolsAgent(await services.agents.get(caller, slug), caller.workspaceId) } };
    },
  });

  addRoute(app, services, {
    method: 'DELETE',
    url: '/v1/agents/:slug',
    scope: 'write',
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
): Promise<{ action: 'created' | 'updated'; agent: Agent }> {
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
  const fields: RuntoolsFields = {
    model: body.model ?? null,
    tools: requestedTools,
    sandbox: body.sandbox ?? null,
    executionMode,
    targetDeviceId: body.targetDeviceId ?? null,
    resources: body.resources ?? [],
  };
  const upsertOnce = async (): Promise<{ action: 'created' | 'updated'; agent: Agent }> => {
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
      model,
      instructions: body.systemPrompt ?? '',
      tools: requestedTools.filter((name) => runnable.has(name)),
      settings: settingsOf(existing?.settings ?? {}, body),
      env: body.env ?? {},
    });
    const result = await services.agents.upsert(caller, body.slug, input, existing?.etag);
    return { action: result.action === 'created' ? 'created' : 'updated', agent: result.agent };
  };
  return retryOnConflict(
    { maxAttempts: maxUpsertAttempts, lostRace: (error) => hasErrorCode(error, 'PRECONDITION_FAILED') },
    upsertOnce,
  );
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

async function findAgent(services: Services, caller: Caller, slug: string): Promise<Agent | undefined> {
  try {
    return await services.agents.get(caller, slug);
  } catch (error) {
    if (error instanceof RunyardError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
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
