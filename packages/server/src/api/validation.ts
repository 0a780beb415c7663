import type { z } from 'zod';
import { RunyardError } from '../shared/errors.ts';

export interface Issue {
  path: string;
  message: string;
  code: string;
}

/** zod issues as `{path, message, code}` with dotted paths; the error message names the first field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, location: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
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
  const first = issues[0];
  const label = (path: string) =>
    path === '' ? location : `${location === 'body' ? '' : `${location} `}${path}`;
  throw new RunyardError(
    'VALIDATION_FAILED',
    first === undefined ? `the ${location} is invalid` : `${label(first.path)}: ${first.message}`,
    { location, issues },
  );
}
