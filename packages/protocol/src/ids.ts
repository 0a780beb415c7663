import { z } from 'zod';

/** Every id Runyard issues carries a type prefix, so a misplaced id is obvious in logs and errors. */
export const idPrefixes = {
  workspace: 'ws',
  apiKey: 'key',
  secret: 'sec',
  provider: 'prv',
  agent: 'agt',
  request: 'req',
  thread: 'thr',
  message: 'msg',
  run: 'run',
  delivery: 'dlv',
  tool: 'tool',
  policy: 'pol',
  audit: 'aud',
  approval: 'apr',
  artifact: 'art',
} as const;

export type IdKind = keyof typeof idPrefixes;

/** Prefix, underscore, then 26 Crockford base32 characters: 10 of milliseconds, 16 random. Sorts by creation time. */
export const idBodyPattern = '[0-9a-hjkmnp-tv-z]{26}';

export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${idPrefixes[kind]}_${idBodyPattern}$`);
}

export function idSchema(kind: IdKind) {
  return z.string().regex(idPattern(kind), `must be a ${kind} id (${idPrefixes[kind]}_…)`);
}

export function isId(kind: IdKind, value: string): boolean {
  return idPattern(kind).test(value);
}
