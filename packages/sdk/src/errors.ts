import type { ErrorBody } from '@runyard/protocol';

/** Every error the API answered: the stable `code`, the HTTP `status`, `details` and the request id. */
export class RunyardApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly requestId: string | undefined;

  constructor(status: number, body: ErrorBody['error'], requestId: string | undefined) {
    super(`${body.code}: ${body.message}${requestId === undefined ? '' : ` (request ${requestId})`}`);
    this.name = new.target.name;
    this.status = status;
    this.code = body.code;
    this.details = body.details;
    this.requestId = requestId;
  }
}

export class BadRequestError extends RunyardApiError {}
export class AuthenticationError extends RunyardApiError {}
export class PermissionDeniedError extends RunyardApiError {}
export class NotFoundError extends RunyardApiError {}
export class ConflictError extends RunyardApiError {}
export class RateLimitError extends RunyardApiError {
  /** Seconds to wait, from the Retry-After header. */
  retryAfterSeconds: number | undefined;
}
export class InternalServerError extends RunyardApiError {}

/** The request never got an HTTP answer: refused, reset, timed out, or the answer was not Runyard's. */
export class ConnectionError extends Error {
  readonly code = 'CONNECTION_ERROR';
  readonly requestId: string | undefined = undefined;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

/** The server answered 2xx with a body that does not match the protocol schema. */
export class ResponseValidationError extends Error {
  constructor(
    message: string,
    readonly requestId: string | undefined,
  ) {
    super(message);
    this.name = 'ResponseValidationError';
  }
}

export function errorForStatus(
  status: number,
  body: ErrorBody['error'],
  requestId: string | undefined,
): RunyardApiError {
  if (status === 401) return new AuthenticationError(status, body, requestId);
  if (status === 403) return new PermissionDeniedError(status, body, requestId);
  if (status === 404) return new NotFoundError(status, body, requestId);
  if (status === 409 || status === 412) return new ConflictError(status, body, requestId);
  if (status === 429) return new RateLimitError(status, body, requestId);
  if (status >= 500) return new InternalServerError(status, body, requestId);
  if (status >= 400) return new BadRequestError(status, body, requestId);
  return new RunyardApiError(status, body, requestId);
}
