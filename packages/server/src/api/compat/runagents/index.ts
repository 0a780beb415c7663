import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../core/services.ts';
import { registerCompatSurface } from '../compat-routes.ts';
import { registerAgentRoutes } from './agent-routes.ts';
import { registerDeployRoute } from './deploy.ts';
import { registerRunagentsErrorHandling } from './errors.ts';
import { registerPolicyRoutes } from './policy-routes.ts';
import { registerProviderRoutes } from './provider-routes.ts';
import { registerRunRoutes } from './run-routes.ts';
import { runagentsSurface } from './runagents-surface.ts';
import { registerStarterKitRoutes } from './starter-kit.ts';
import { registerToolRoutes } from './tool-routes.ts';

/**
 * The runagents surface under /compat/runagents: translates and delegates to the core services
 * (tools, providers, policies, agents, runs), declared in runagents-surface.ts. Encapsulated, so
 * its error and not-found handlers apply to it alone. docs/compat/runagents.md documents the mapping.
 */
export function registerRunagentsCompat(app: FastifyInstance, services: Services): void {
  registerCompatSurface(app, runagentsSurface, (surface) => {
    registerRunagentsErrorHandling(surface);
    registerStarterKitRoutes(surface, services);
    registerToolRoutes(surface, services);
    registerProviderRoutes(surface, services);
    registerPolicyRoutes(surface, services);
    registerAgentRoutes(surface, services);
    registerDeployRoute(surface, services);
    registerRunRoutes(surface, services);
  });
}
