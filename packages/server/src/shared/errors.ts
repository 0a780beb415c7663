import { errorCatalogue, type ErrorCategory, type ErrorCode } from '@runyard/protocol';

/**
 * The one error type every layer throws on purpose. Status, category and retryability come from
 * the catalogue in `@runyard/protocol`, so they cannot drift from the documentation.
 */
export class RunyardError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RunyardError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return errorCatalogue[this.code].status;
  }

  get category(): ErrorCategory {
    return errorCatalogue[this.code].category;
  }

  get retryable(): boolean {
    return errorCatalogue[this.code].retryable;
  }
}

/** `error` is a RunyardError of this code. */
export function hasErrorCode(error: unknown, code: ErrorCode): error is RunyardError {
  return error instanceof RunyardError && error.code === code;
}

export function notFound(kind: string, reference: string): RunyardError {
  return new RunyardError('NOT_FOUND', `${kind} '${reference}' was not found`, { kind, reference });
}

/** A 400 for one field, in the same shape as schema validation failures. */
export function invalidField(path: string, message: string): RunyardError {
  return new RunyardError('VALIDATION_FAILED', `${path}: ${message}`, {
    issues: [{ path, message, code: 'invalid_value' }],
  });
}

export function conflict(message: string, details: Record<string, unknown> = {}): RunyardError {
  return new RunyardError('CONFLICT', message, details);
}
