import type { z } from 'zod';
import { RunyardError } from '../shared/errors.ts';

export interface Issue {
  path: string;
  message: string;
  code: string;
}

/** zod issues as `{path, message, code}` with dotted paths; the error message names the first field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, location: string): z.output<T> {
  // Before the schema: stringifying or hashing a deeply nested value overflows the stack.
  refuseDeepNesting(value, location);
  const result = schema.safeParse(value);
  if (result.success) {
    const badText = firstPath(result.data, holdsBadText);
    if (badText === undefined) return result.data;
    throw validationFailed(
      [
        {
          path: badText,
          message: 'must not contain U+0000 (NUL) or unpaired surrogates',
          code: 'invalid_format',
        },
      ],
      location,
    );
  }
  const issues: Issue[] = result.error.issues.flatMap((issue): Issue[] => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: base === '' ? key : `${base}.${key}`,
        message: 'is not a known field',
        code: issue.code,
      }));
    }
    return [{ path: base, message: issue.message, code: issue.code }];
  });
  throw validationFailed(issues, location);
}

/**
 * A value nested more than `maxNestingDepth` levels below its top is a 400 VALIDATION_FAILED naming
 * the first such place. app.ts applies it to every request body before any route sees it (a
 * recursive serializer, hash or schema would overflow the stack on one); parseOrThrow to every value.
 */
export function refuseDeepNesting(value: unknown, location: string): void {
  const tooDeep = firstPath(value, (_item, depth) => depth > maxNestingDepth);
  if (tooDeep !== undefined) {
    throw validationFailed(
      [{ path: tooDeep, message: `must not nest deeper than ${maxNestingDepth} levels`, code: 'too_big' }],
      location,
    );
  }
}

function validationFailed(issues: Issue[], location: string): RunyardError {
  const first = issues[0];
  const label = (path: string) =>
    path === '' ? location : `${location === 'body' ? '' : `${location} `}${path}`;
  return new RunyardError(
    'VALIDATION_FAILED',
    first === undefined ? `the ${location} is invalid` : `${label(first.path)}: ${first.message}`,
    { location, issues },
  );
}

/** Deeper JSON than this is refused on every route, /v1 and compat: no field of any API needs more. */
export const maxNestingDepth = 64;

const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text the databases cannot store as sent: PostgreSQL rejects U+0000 (SQLite keeps it), and an
 * unpaired surrogate has no UTF-8 form (both would store U+FFFD). Refused so both backends agree.
 */
function isBadText(text: string): boolean {
  return text.includes('\u0000') || unpairedSurrogate.test(text);
}

function holdsBadText(value: unknown): boolean {
  if (typeof value === 'string') return isBadText(value);
  return typeof value === 'object' && value !== null && Object.keys(value).some(isBadText);
}

interface Visit {
  value: unknown;
  key: string;
  depth: number;
  parent: Visit | undefined;
}

/**
 * The dotted path of the first value (depth first) for which `isBad` holds, or undefined. Iterative
 * with parent links, so a deeply nested body costs neither stack nor quadratic path strings.
 */
function firstPath(root: unknown, isBad: (value: unknown, depth: number) => boolean): string | undefined {
  const pending: Visit[] = [{ value: root, key: '', depth: 0, parent: undefined }];
  for (let visit = pending.pop(); visit !== undefined; visit = pending.pop()) {
    if (isBad(visit.value, visit.depth)) {
      const keys: string[] = [];
      for (let at: Visit | undefined = visit; at?.parent !== undefined; at = at.parent) keys.push(at.key);
      return keys.reverse().join('.');
    }
    if (typeof visit.value === 'object' && visit.value !== null) {
      const entries: [string, unknown][] = Object.entries(visit.value as Record<string, unknown>);
      for (let index = entries.length - 1; index >= 0; index -= 1) {
        const [key, item] = entries[index] ?? ['', undefined];
        pending.push({ value: item, key, depth: visit.depth + 1, parent: visit });
      }
    }
  }
  return undefined;
}
