import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '@runyard/protocol';
import { RunyardError } from '../../shared/errors.ts';

/**
 * An error in a compat surface's terms: its HTTP status, the surface's lower-case code, a message
 * and details. Each surface subclasses it and decides how the body looks (`render`).
 */
export class SurfaceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Runyard's catalogue in lower-case codes; the status stays the catalogue's. */
const lowerCaseCodes: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'bad_request',
  INVALID_JSON: 'bad_request',
  UNAUTHENTICATED: 'unauthorized',
  PERMISSION_DENIED: 'forbidden',
  POLICY_DENIED: 'forbidden',
  NOT_FOUND: 'not_found',
  ROUTE_NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  IDEMPOTENCY_IN_PROGRESS: 'conflict',
  PRECONDITION_FAILED: 'precondition_failed',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  IDEMPOTENCY_KEY_REUSED: 'unprocessable_entity',
  RATE_LIMITED: 'rate_limited',
  INTERNAL_ERROR: 'internal_error',
  PROVIDER_ERROR: 'provider_error',
  TOOL_FAILED: 'tool_failed',
  SERVICE_UNAVAILABLE: 'service_unavailable',
};

export function surfaceErrorOf(error: RunyardError): SurfaceError {
  return new SurfaceError(error.status, lowerCaseCodes[error.code], error.message, error.details);
}

/** Fastify's own client errors (body parsing, limits): their status, in lower-case codes. */
function fromFastify(error: FastifyError): SurfaceError | undefined {
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SurfaceError(415, 'unsupported_media_type', 'send the request body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new SurfaceError(
        400,
        'bad_request',
        'the body is empty but the content type is application/json',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new SurfaceError(400, 'bad_request', `the request body is not valid JSON: ${error.message}`);
    default:
      break;
  }
  if (status === 413) {
    return new SurfaceError(413, 'payload_too_large', 'the request body is larger than the configured limit');
  }
  if (status === 415) return new SurfaceError(415, 'unsupported_media_type', error.message);
  return new SurfaceError(400, 'bad_request', error.message);
}

/** The body of an error in the surface's shape. */
export type RenderSurfaceError = (error: SurfaceError, requestId: string) => unknown;

export function sendSurfaceError(
  reply: FastifyReply,
  request: FastifyRequest,
  error: SurfaceError,
  render: RenderSurfaceError,
): FastifyReply {
  const retryAfterSeconds = error.details.retryAfterSeconds;
  if (error.status === 429 && typeof retryAfterSeconds === 'number') {
    void reply.header('retry-after', String(retryAfterSeconds));
  }
  return reply.code(error.status).type('application/json; charset=utf-8').send(render(error, request.id));
}

/**
 * A surface's own error and not-found handlers (encapsulated in its plugin): every failure under
 * its prefix answers in one shape. Anything unexpected is logged and answered as a 500 without
 * internals.
 */
export function registerSurfaceErrorHandling(app: FastifyInstance, render: RenderSurfaceError): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known =
      error instanceof SurfaceError
        ? error
        : error instanceof RunyardError
          ? surfaceErrorOf(error)
          : fromFastify(error);
    if (known !== undefined) {
      if (known.status >= 500) request.log.warn({ err: error }, known.message);
      return sendSurfaceError(reply, request, known, render);
    }
    request.log.error({ err: error }, 'unhandled error');
    const hidden = new SurfaceError(
      500,
      'internal_error',
      'an unexpected error occurred; the request id identifies it in the logs',
    );
    return sendSurfaceError(reply, request, hidden, render);
  });
  app.setNotFoundHandler((request, reply) => {
    const missing = new SurfaceError(
      404,
      'not_found',
      `no route for ${request.method} ${request.url.split('?')[0]}`,
    );
    return sendSurfaceError(reply, request, missing, render);
  });
}
