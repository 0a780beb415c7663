/** Why a tool produced no result. */
export type ToolFailureReason =
  'timeout' | 'unreachable' | 'too-many-redirects' | 'credentials' | 'invalid-input' | 'error';

/**
 * A tool that could not produce a result. Its message is what the model (or the caller of
 * `POST /v1/tools/{name}/invoke`) reads, so it never holds a credential: the thrower scrubs it.
 */
export class ToolError extends Error {
  constructor(
    readonly reason: ToolFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}
