import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../core/services.ts';
import { registerCompatSurface } from '../compat-routes.ts';
import { registerAgentRoutes } from './agent-routes.ts';
import { registerMakeErrorHandling } from './make-errors.ts';
import { makeSurface } from './make-surface.ts';
import { registerRunRoutes } from './run-routes.ts';

/**
 * The make surface under /compat/make: Make's "AI Agents" API (`/ai-agents/v1/agents` …), which
 * translates and delegates to the core services; declared in make-surface.ts. An encapsulated plugin: its error handler,
 * not-found handler and JSON parser apply to these routes only. Not part of /v1 or its OpenAPI.
 */
export function registerMakeCompat(app: FastifyInstance, services: Services): void {
  registerCompatSurface(app, makeSurface, (instance) => {
    registerMakeErrorHandling(instance);
    // Make clients may send `Content-Type: application/json` with no body (DELETE, an empty
    // PATCH): an empty body is no body here, instead of Fastify's 400.
    const parseJson = instance.getDefaultJsonParser('error', 'error');
    instance.removeContentTypeParser('application/json');
    instance.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text === '') done(null, undefined);
      else void parseJson(request, text, done);
    });
    registerAgentRoutes(instance, services);
    registerRunRoutes(instance, services);
  });
}
