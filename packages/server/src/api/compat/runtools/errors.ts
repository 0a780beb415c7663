import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '@runyard/protocol';
import { RunyardError } from '../../../shared/errors.ts';

/**
 * An error in runtools' terms: its HTTP status and a lower-case code, as runtools documents them
 * (`{"error": {"code": "not_found", "message": …, "requestId": …}}`).
 */
export class RuntoolsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'RuntoolsError';
  }
}

/** Runyard's catalogue in runtools' vocabulary; the status stays the catalogue's. */
const runtoolsCodes: Record<ErrorCode, string> = {
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

export function fromRunyardError(error: RunyardError): RuntoolsError {
  return new RuntoolsError(error.status, runtoolsCodes[error.code], error.message, error.details);
}

/** Fastify's own client errors (body parsing, limits): their status, in runtools' words. */
function fromFastify(error: FastifyError): RuntoolsError | undefined {
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RuntoolsError(415, 'unsupported_media_type', 'send the request body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RuntoolsError(
        400,
        'bad_request',
        'the body is empty but the content type is application/json',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new RuntoolsError(400, 'bad_request', `the request body is not valid JSON: ${error.message}`);
    default:
      break;
  }
  if (status === 413) {
    return new RuntoolsError(
      413,
      'payload_too_large',
      'the request body is larger than the configured limit',
    );
  }
  if (status === 415) return new RuntoolsError(415, 'unsupported_media_type', error.message);
  return new RuntoolsError(400, 'bad_request', error.message);
}

export function sendRuntoolsError(
  reply: FastifyReply,
  request: FastifyRequest,
  error: RuntoolsError,
): FastifyReply {
  const retryAfterSeconds = error.details.retryAfterSeconds;
  if (error.status === 429 && typeof retryAfterSeconds === 'number') {
    void reply.header('retry-after', String(retryAfterSeconds));
  }
  return reply
    .code(error.status)
    .type('application/json; charset=utf-8')
    .send({
      error: {
        code: error.code,
        message: error.message,
        requestId: request.id,
        ...(Object.keys(error.details).length > 0 && { details: error.details }),
      },
    });
}

/**
 * The surface's own error and not-found handlers (encapsulated in its plugin): every failure under
 * /compat/runtools answers in runtools' shape. Anything unexpected is logged and answered as a 500
 * without internals.
 */
export function registerRuntoolsErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known =
      error instanceof RuntoolsError
        ? error
        : error instanceof RunyardError
          ? fromRunyardError(error)
          : fromFastify(error);
    if (known !== undefined) {
      if (known.status >= 500) request.log.warn({ err: error }, known.message);
      return sendRuntoolsError(reply, request, known);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendRuntoolsError(
      reply,
      request,
      new RuntoolsError(
        500,
        'internal_error',
        'an unexpected error occurred; the request id identifies it in the logs',
      ),
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendRuntoolsError(
      reply,
      request,
      new RuntoolsError(404, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}
