import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalogue, type ErrorBody } from '@runyard/protocol';
import { RunyardError } from '../shared/errors.ts';

/** Fastify's own failures (body parsing, limits, bad URLs) in our catalogue's terms. */
function fromFastify(error: FastifyError, request: FastifyRequest): RunyardError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      // Fastify's message does not name the type: take it from the request (null when none was sent).
      return new RunyardError('UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json', {
        contentType: request.headers['content-type'] ?? null,
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RunyardError('PAYLOAD_TOO_LARGE', 'the request body is larger than the configured limit');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RunyardError('INVALID_JSON', 'the body is empty but the content type is application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new RunyardError('INVALID_JSON', `the request body is not valid JSON: ${error.message}`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RunyardError('VALIDATION_FAILED', 'the Content-Length header does not match the body');
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new RunyardError('VALIDATION_FAILED', 'the URL is malformed');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new RunyardError('VALIDATION_FAILED', 'a path parameter is longer than 500 characters');
    default:
      break;
  }
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new RunyardError('INVALID_JSON', `the request body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode === 413) return new RunyardError('PAYLOAD_TOO_LARGE', error.message);
  if (error.statusCode === 415) return new RunyardError('UNSUPPORTED_MEDIA_TYPE', error.message);
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new RunyardError('VALIDATION_FAILED', error.message);
  }
  return undefined;
}

export function errorBody(error: RunyardError): ErrorBody {
  return { error: { code: error.code, message: error.message, details: error.details } };
}

export function sendError(reply: FastifyReply, error: RunyardError): FastifyReply {
  if (error.code === 'RATE_LIMITED' && typeof error.details.retryAfterSeconds === 'number') {
    void reply.header('retry-after', String(error.details.retryAfterSeconds));
  }
  return reply
    .code(errorCatalogue[error.code].status)
    .type('application/json; charset=utf-8')
    .send(errorBody(error));
}

/**
 * Fastify's `frameworkErrors`: failures before routing (bad percent-encoding, an over-long path
 * parameter). No hook has run, so the request id header is set here.
 */
export function sendFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('x-request-id', request.id);
  void sendError(reply, frameworkErrorOf(error, request));
}

/** A failure before routing as a catalogue error (a compat surface renders it in its own shape). */
export function frameworkErrorOf(error: FastifyError, request: FastifyRequest): RunyardError {
  return fromFastify(error, request) ?? new RunyardError('VALIDATION_FAILED', 'the URL is malformed');
}

/** The one place an error becomes a response. Anything unexpected is logged and answered as a 500 without internals. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known = error instanceof RunyardError ? error : fromFastify(error, request);
    if (known !== undefined) {
      if (known.category !== 'user') request.log.warn({ err: error }, known.message);
      return sendError(reply, known);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(
      reply,
      new RunyardError(
        'INTERNAL_ERROR',
        'an unexpected error occurred; the request id identifies it in the logs',
        {
          requestId: request.id,
        },
      ),
    );
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new RunyardError('ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`, {
        method: request.method,
      }),
    ),
  );
}
