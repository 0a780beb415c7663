import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Tool } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { addRoute, assertSameNamespace } from './routing.ts';
import { unlessNotFound } from '../compat-routes.ts';
import { withSurfaceFields, type FieldRename } from './field-names.ts';
import {
  accessModeOf,
  accessPolicyName,
  accessRules,
  toCreateTool,
  toRunagentsTool,
  toolBodyRenames,
  toolBodySchema,
  type ToolBody,
} from './tool-fields.ts';

export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(100),
});

/**
 * Create or bring up to date, by name: the http tool, then its access policy. Each step is
 * idempotent, so a request that fails between them is completed by sending it again. A validation
 * error names the request's fields (`renames`), never the Runyard tool's.
 */
export async function upsertTool(
  services: Services,
  caller: Caller,
  body: ToolBody,
  renames: readonly FieldRename[] = toolBodyRenames,
): Promise<{ tool: Tool; created: boolean }> {
  const { definition, existing, tool } = await withSurfaceFields(renames, async () => {
    const definition = toCreateTool(body);
    const existing = await unlessNotFound(services.tools.get(caller, body.name));
    if (existing === undefined) {
      return { definition, existing, tool: await services.tools.create(caller, definition) };
    }
    const { name: _name, kind: _kind, ...change } = definition;
    return { definition, existing, tool: await services.tools.update(caller, body.name, change) };
  });
  const rules = accessRules(body.spec.accessMode, definition.baseUrl ?? '');
  const policyName = accessPolicyName(body.name);
  const description = `runagents access mode ${body.spec.accessMode} of tool '${body.name}'`;
  const policy = await unlessNotFound(services.policies.get(caller, policyName));
  if (policy === undefined) {
    await services.policies.create(caller, { name: policyName, description, rules, approvalRoutes: [] });
  } else {
    await services.policies.update(caller, policyName, { description, rules });
  }
  return { tool, created: existing === undefined };
}

/** The access mode of each named tool, read from its access policy. */
export async function accessModes(services: Services, caller: Caller, tools: readonly Tool[]) {
  return Promise.all(
    tools.map(async (tool) => {
      const policy = await unlessNotFound(services.policies.get(caller, accessPolicyName(tool.name)));
      return accessModeOf(policy?.rules);
    }),
  );
}

export function registerToolRoutes(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'listTools',
    handler: async ({ caller, namespace, request }) => {
      const { limit } = parseOrThrow(listQuerySchema, request.query ?? {}, 'query');
      const page = await services.tools.list(caller, { limit });
      const modes = await accessModes(services, caller, page.data);
      return {
        body: page.data.map((tool, index) => toRunagentsTool(tool, namespace, modes[index] ?? 'Restricted')),
      };
    },
  });

  addRoute(app, services, {
    operationId: 'createTool',
    handler: async (context) => {
      const body = parseOrThrow(toolBodySchema, context.request.body, 'body');
      assertSameNamespace(context, body.namespace, 'namespace');
      const { tool, created } = await upsertTool(services, context.caller, body);
      return {
        status: created ? 201 : 200,
        body: toRunagentsTool(tool, context.namespace, body.spec.accessMode),
      };
    },
  });
}
