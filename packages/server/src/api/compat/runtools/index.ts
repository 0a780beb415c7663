import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../core/services.ts';

/** The runtools surface under /compat/runtools: translates and delegates to the core services. */
export function registerRuntoolsCompat(app: FastifyInstance, _services: Services): void {
  void app.register(async () => {}, { prefix: '/compat/runtools' });
}
