import { ConnectionError, ResponseValidationError, RunyardApiError } from '@runyard/sdk';

/** Exit codes, after sysexits.h where one fits. */
export const exitCodes = {
  success: 0,
  /** The API answered with an error. */
  apiError: 1,
  /** Bad command line or input file, or no API key. */
  usage: 64,
  /** The server could not be reached. */
  unavailable: 69,
  /** A bug in the CLI. */
  internal: 70,
} as const;

/** A mistake on the command line or in an input file: exit 64, with the command's usage when it helps. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = true,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An error with a line of advice to print after it. */
export class ErrorWithHint extends Error {
  constructor(
    readonly error: unknown,
    readonly hint: string,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'ErrorWithHint';
  }
}

/** Where the command was sending its requests, for advice about a failure. */
export interface FailureContext {
  url: string | undefined;
  keySource: string | undefined;
  /** The usage text of the command that failed, printed after a usage error. */
  usage: string;
}

/** Writes the error to stderr (never a stack trace) and returns the exit code. */
export function reportFailure(error: unknown, context: FailureContext): number {
  const lines: string[] = [];
  const code = describeFailure(error, context, lines);
  process.stderr.write(`${lines.join('\n')}\n`);
  return code;
}

function describeFailure(error: unknown, context: FailureContext, lines: string[]): number {
  if (error instanceof ErrorWithHint) {
    const code = describeFailure(error.error, context, lines);
    lines.push(`  hint: ${error.hint}`);
    return code;
  }
  if (error instanceof UsageError) {
    lines.push(`runyard: ${error.message}`);
    if (error.showUsage) lines.push('', context.usage.trimEnd());
    return exitCodes.usage;
  }
  if (error instanceof RunyardApiError) {
    lines.push(`runyard: ${error.message}`);
    for (const issue of issuesOf(error.details)) lines.push(`  field ${issue}`);
    const hint = apiErrorHint(error, context);
    if (hint !== undefined) lines.push(`  hint: ${hint}`);
    return exitCodes.apiError;
  }
  if (error instanceof ConnectionError) {
    lines.push(`runyard: ${error.code}: could not reach ${context.url ?? 'the server'} (${error.message})`);
    lines.push(
      '  hint: is the server running? Start it with `runyard start`, or point --url or RUNYARD_URL at it.',
    );
    return exitCodes.unavailable;
  }
  if (error instanceof ResponseValidationError) {
    lines.push(`runyard: INVALID_RESPONSE: ${error.message}`);
    lines.push('  hint: the server and this CLI may be different versions of Runyard.');
    return exitCodes.apiError;
  }
  lines.push(`runyard: unexpected error: ${error instanceof Error ? error.message : String(error)}`);
  return exitCodes.internal;
}

function issuesOf(details: Record<string, unknown>): string[] {
  const issues = details.issues;
  if (!Array.isArray(issues)) return [];
  return issues.flatMap((issue: unknown) => {
    if (typeof issue !== 'object' || issue === null) return [];
    const { path, message } = issue as { path?: unknown; message?: unknown };
    const field = typeof path === 'string' && path !== '' ? path : '(whole request)';
    return [`${field}: ${typeof message === 'string' ? message : 'is invalid'}`];
  });
}

function apiErrorHint(error: RunyardApiError, context: FailureContext): string | undefined {
  if (error.code === 'UNAUTHENTICATED') {
    const source = context.keySource === undefined ? 'the API key' : `the API key from ${context.keySource}`;
    return `${source} was not accepted (unknown, revoked or expired); pass another with --api-key or RUNYARD_API_KEY.`;
  }
  if (error.code === 'PERMISSION_DENIED' && typeof error.details.requiredScope === 'string') {
    return `this command needs a key with the '${error.details.requiredScope}' scope (or 'admin').`;
  }
  return undefined;
}
