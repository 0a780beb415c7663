import type { FastifyInstance } from 'fastify';
import { registerSurfaceErrorHandling, SurfaceError } from '../surface-errors.ts';

/**
 * An error in runagents' terms: its HTTP status, a lower-case code and a message
 * (`{"error": "agent_name is required", "code": "bad_request", "request_id": …}`). runagents
 * documents statuses and messages only; the shape is ours (docs/compat/runagents.md).
 */
export class RunagentsError extends SurfaceError {}

export function badRequest(message: string, details: Record<string, unknown> = {}): RunagentsError {
  return new RunagentsError(400, 'bad_request', message, details);
}

/** Every failure under /compat/runagents answers in one shape. */
export function registerRunagentsErrorHandling(app: FastifyInstance): void {
  registerSurfaceErrorHandling(app, (error, requestId) => ({
    error: error.message,
    code: error.code,
    request_id: requestId,
    ...(Object.keys(error.details).length > 0 && { details: error.details }),
  }));
}
