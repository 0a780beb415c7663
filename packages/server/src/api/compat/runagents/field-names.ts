import { RunyardError } from '../../../shared/errors.ts';

/**
 * How a Runyard field path reads in runagents' terms: the surface's path, or undefined when the
 * rule does not apply. Paths are dotted (`auth.value.secret`, `rules.0.effect`).
 */
export type FieldRename = (path: string) => string | undefined;

/**
 * `from` → `to` for the path and everything below it; `#` in `from` matches one segment (an
 * index), and each `#` in `to` takes the matched segments in order:
 * `renamed('rules.#.effect', 'spec.rules.#.permission')`.
 */
export function renamed(from: string, to: string): FieldRename {
  const pattern = from.split('.');
  return (path) => {
    const segments = path.split('.');
    if (segments.length < pattern.length) return undefined;
    const matched: string[] = [];
    for (const [index, expected] of pattern.entries()) {
      const segment = segments[index] ?? '';
      if (expected === '#') matched.push(segment);
      else if (expected !== segment) return undefined;
    }
    let next = 0;
    const target = to.split('.').map((segment) => (segment === '#' ? (matched[next++] ?? '') : segment));
    return [...target, ...segments.slice(pattern.length)].filter((segment) => segment !== '').join('.');
  };
}

function renameOf(renames: readonly FieldRename[], path: string): string {
  for (const rename of renames) {
    const surfacePath = rename(path);
    if (surfacePath !== undefined) return surfacePath;
  }
  return path;
}

interface Issue {
  path: string;
  message: string;
  code: string;
}

function issuesOf(details: Record<string, unknown>): Issue[] | undefined {
  const issues = details.issues;
  if (!Array.isArray(issues)) return undefined;
  return issues.filter(
    (issue): issue is Issue =>
      typeof issue === 'object' && issue !== null && typeof (issue as Issue).path === 'string',
  );
}

/**
 * A validation error of a core service (or of Runyard's own schema) restated in the surface's
 * field names: each issue's path, and the field the message starts with (`auth.value.secret: no
 * secret …` → `spec.connection.authentication.secretRef: no secret …`). Other errors pass as they are.
 */
export function inSurfaceTerms(error: unknown, renames: readonly FieldRename[]): unknown {
  if (!(error instanceof RunyardError) || error.code !== 'VALIDATION_FAILED') return error;
  const issues = issuesOf(error.details);
  const colon = error.message.indexOf(': ');
  const lead = colon === -1 ? '' : error.message.slice(0, colon);
  const message = /^[A-Za-z0-9_.$-]+$/.test(lead)
    ? `${renameOf(renames, lead)}${error.message.slice(colon)}`
    : error.message;
  return new RunyardError('VALIDATION_FAILED', message, {
    ...error.details,
    ...(issues !== undefined && {
      issues: issues.map((issue) => ({ ...issue, path: renameOf(renames, issue.path) })),
    }),
  });
}

/** Runs `work`; a validation error it throws is restated in the surface's field names. */
export async function withSurfaceFields<T>(
  renames: readonly FieldRename[],
  work: () => T | Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw inSurfaceTerms(error, renames);
  }
}
