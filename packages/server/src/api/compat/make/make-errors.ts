import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MakeErrorBody } from '../../../shared/make-wire-format.ts';
import { RunyardError } from '../../../shared/errors.ts';

/**
 * Make's error shape. Every Make API error has one schema (developers.make.com, "HTTP status
 * error codes"): `{"detail": "Access denied.", "message": "Permission denied", "code": "SC403"}`.
 * Here `message` is the status' title, `code` is `SC<status>` and `detail` our precise message; a
 * validation failure adds `suberrors`, one `{message, path}` per field. A failed run is the one
 * exception: its `code` is the run error code (e.g. `PROVIDER_ERROR`) so clients can tell run
 * failures from request failures.
 */
export interface MakeErrorResponse extends MakeErrorBody {
  suberrors?: { message: string; path: string }[];
  [extra: string]: unknown;
}

/** An error already in Make's shape, with its status (a run that ended without success). */
export class MakeError extends Error {
  constructor(
    readonly status: number,
    readonly body: MakeErrorResponse,
  ) {
    super(body.detail);
    this.name = 'MakeError';
  }
}

const titles: Record<number, string> = { 403: 'Permission denied', 404: 'Not found' };

function title(status: number): string {
  return titles[status] ?? STATUS_CODES[status] ?? 'Error';
}

export function makeErrorBody(status: number, detail: string): MakeErrorResponse {
  return { message: title(status), code: `SC${status}`, detail };
}

/** Our errors in Make's shape; details never carry secrets, only field paths and messages. */
export function fromRunyardError(error: RunyardError): MakeError {
  const body = makeErrorBody(error.status, error.message);
  const issues = error.details.issues;
  if (Array.isArray(issues)) {
    body.suberrors = issues.map((issue: { path?: unknown; message?: unknown }) => ({
      message: typeof issue.message === 'string' ? issue.message : 'is invalid',
      path: typeof issue.path === 'string' ? issue.path : '',
    }));
  }
  return new MakeError(error.status, body);
}

/**
 * The HTTP status for a run that ended without success: the provider's failures are a bad
 * gateway or a timeout, the agent's own limits are unprocessable, an interrupted run a conflict.
 */
export function runFailureStatus(code: string): number {
  switch (code) {
    case 'PROVIDER_ERROR':
    case 'PROVIDER_AUTH_FAILED':
      return 502;
    case 'PROVIDER_TIMEOUT':
    case 'RUN_TIMEOUT':
      return 504;
    case 'MAX_ITERATIONS':
    case 'TOOL_LOOP':
    case 'OUTPUT_SCHEMA_MISMATCH':
    case 'BUDGET_EXCEEDED':
      return 422;
    case 'CANCELLED':
      return 409;
    case 'WORKER_LOST':
      return 503;
    default:
      return 500;
  }
}

export function sendMakeError(reply: FastifyReply, error: MakeError): FastifyReply {
  return reply.code(error.status).type('application/json; charset=utf-8').send(error.body);
}

/** Fastify's own request failures (bad JSON, too large, wrong media type) keep their 4xx status. */
function fromFastify(error: FastifyError): MakeError | undefined {
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  const detail =
    error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
      ? 'send the request body as application/json'
      : error.message;
  return new MakeError(status, makeErrorBody(status, detail));
}

/** Every error under /compat/make, and every unknown route there, answers in Make's shape. */
export function registerMakeErrorHandling(instance: FastifyInstance): void {
  instance.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof MakeError) return sendMakeError(reply, error);
    if (error instanceof RunyardError) {
      if (error.category !== 'user') request.log.warn({ err: error }, error.message);
      return sendMakeError(reply, fromRunyardError(error));
    }
    const known = fromFastify(error);
    if (known !== undefined) return sendMakeError(reply, known);
    request.log.error({ err: error }, 'unhandled error');
    return sendMakeError(
      reply,
      new MakeError(
        500,
        makeErrorBody(
          500,
          `an unexpected error occurred; request id ${request.id} identifies it in the logs`,
        ),
      ),
    );
  });
  instance.setNotFoundHandler((request, reply) =>
    sendMakeError(
      reply,
      new MakeError(404, makeErrorBody(404, `no route for ${request.method} ${request.url.split('?')[0]}`)),
    ),
  );
}
