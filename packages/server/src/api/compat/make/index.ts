import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../core/services.ts';

/** The make surface under /compat/make: translates and delegates to the core services. */
export function registerMakeCompat(app: FastifyInstance, _services: Services): void {
  void app.register(async () => {}, { prefix: '/compat/make' });
}
