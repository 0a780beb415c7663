import type { RunErrorCode } from '@runyard/protocol';

/**
 * Why a run (or one attempt of a step) failed. Its code ends up in `run.error.code` and in the
 * `error` event; the codes are listed in docs/errors.md under run errors.
 */
export class EngineError extends Error {
  readonly code: RunErrorCode;
  readonly retryable: boolean;

  constructor(code: RunErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}
