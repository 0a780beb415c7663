import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../core/services.ts';
import { addRoute } from './routing.ts';
import { unlessNotFound } from '../compat-routes.ts';
import { upsertTool } from './tool-routes.ts';

export const starterToolName = 'echo-tool';
export const starterProviderName = 'playground-llm';
/** The namespace's default model the kit sets when it has none: the built-in offline playground. */
export const starterDefaultModel = 'playground/playground';

/**
 * `POST /api/starter-kit`: the `echo-tool` (an http tool calling this server's `/echo`, access mode
 * Open), the `playground-llm` provider (the offline playground model) and, while the namespace has
 * none, its default model (`playground/playground`). Idempotent: what exists is kept as it is,
 * whatever the user made of it, and the answer is the same every time.
 */
export function registerStarterKitRoutes(app: FastifyInstance, services: Services): void {
  // The echo service behind echo-tool: reflects a JSON body. Open on purpose (the tool sends no
  // credential); it reads nothing and stores nothing.
  for (const operationId of ['echo', 'echoWithSlash'] as const) {
    addRoute(app, services, {
      operationId,
      handler: async ({ request }) => ({ body: { echo: request.body ?? null } }),
    });
  }

  addRoute(app, services, {
    operationId: 'runStarterKit',
    handler: async ({ caller, request }) => {
      if ((await unlessNotFound(services.tools.get(caller, starterToolName))) === undefined) {
        await upsertTool(services, caller, {
          name: starterToolName,
          spec: {
            description: 'Echoes its input back (the runagents starter kit).',
            connection: {
              baseUrl: echoBaseUrl(request),
              authentication: { type: 'None' },
              method: 'POST',
              path: '/',
            },
            accessMode: 'Open',
            inputSchema: {
              type: 'object',
              properties: { text: { type: 'string', description: 'The text to echo.' } },
              required: ['text'],
            },
          },
        });
      }
      await services.providers.ensurePlayground(caller, starterProviderName);
      // The model of agents deployed without llm_configs, unless the namespace has one already.
      await services.workspaces.ensureDefaultModel(caller, starterDefaultModel);
      return {
        status: 201,
        body: { tool_created: starterToolName, model_provider_created: starterProviderName },
      };
    },
  });
}

/** This server's echo service as the caller reached it. */
function echoBaseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/compat/runagents/echo`;
}
