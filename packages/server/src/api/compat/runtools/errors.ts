import type { FastifyInstance } from 'fastify';
import { registerSurfaceErrorHandling, SurfaceError } from '../surface-errors.ts';

/**
 * An error in runtools' terms: its HTTP status and a lower-case code, as runtools documents them
 * (`{"error": {"code": "not_found", "message": …, "requestId": …}}`).
 */
export class RuntoolsError extends SurfaceError {}

/** Every failure under /compat/runtools answers in runtools' shape. */
export function registerRuntoolsErrorHandling(app: FastifyInstance): void {
  registerSurfaceErrorHandling(app, (error, requestId) => ({
    error: {
      code: error.code,
      message: error.message,
      requestId,
      ...(Object.keys(error.details).length > 0 && { details: error.details }),
    },
  }));
}
