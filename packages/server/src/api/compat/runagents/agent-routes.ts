import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { toRunagentsAgent } from './agent-fields.ts';
import { RunagentsError } from './errors.ts';
import { addRoute, type RouteContext } from './routing.ts';
import { listQuerySchema } from './tool-routes.ts';

const agentParamsSchema = z.strictObject({
  namespace: z.string().min(1).max(200),
  name: z.string().min(1).max(200),
});

/** Another namespace's agent answers 404 like a missing one: nothing about other workspaces leaks. */
function agentNameOf(context: RouteContext): string {
  const { namespace, name } = parseOrThrow(agentParamsSchema, context.request.params, 'path');
  if (namespace !== context.namespace && namespace !== context.caller.workspaceId) {
    throw new RunagentsError(404, 'not_found', `agent '${namespace}/${name}' was not found`);
  }
  return name;
}

export function registerAgentRoutes(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'listAgents',
    handler: async ({ caller, namespace, request }) => {
      const { limit } = parseOrThrow(listQuerySchema, request.query ?? {}, 'query');
      const page = await services.agents.list(caller, { limit });
      return { body: page.data.map((agent) => toRunagentsAgent(agent, namespace)) };
    },
  });

  addRoute(app, services, {
    operationId: 'getAgent',
    handler: async (context) => {
      const agent = await services.agents.get(context.caller, agentNameOf(context));
      return { body: toRunagentsAgent(agent, context.namespace) };
    },
  });

  addRoute(app, services, {
    operationId: 'deleteAgent',
    handler: async (context) => {
      const agent = await services.agents.get(context.caller, agentNameOf(context));
      await services.agents.delete(context.caller, agent.id);
      return { body: { deleted: true, agent: agent.slug, namespace: context.namespace } };
    },
  });
}
