import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../core/services.ts';
import { registerCompatSurface } from '../compat-routes.ts';
import { registerAgentRoutes } from './agents.ts';
import { registerRuntoolsErrorHandling } from './errors.ts';
import { registerRunRoutes } from './runs.ts';
import { runtoolsSurface } from './runtools-surface.ts';
import { registerThreadRoutes } from './threads.ts';

/**
 * The runtools surface under /compat/runtools (declared in runtools-surface.ts): translates and
 * delegates to the core services. Encapsulated, so its error and not-found handlers (runtools'
 * error shape) apply to it alone. docs/compat/runtools.md documents the mapping.
 */
export function registerRuntoolsCompat(app: FastifyInstance, services: Services): void {
  registerCompatSurface(app, runtoolsSurface, (surface) => {
    registerRuntoolsErrorHandling(surface);
    registerAgentRoutes(surface, services);
    registerRunRoutes(surface, services);
    registerThreadRoutes(surface, services);
  });
}
