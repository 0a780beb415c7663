import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RunyardError } from '../shared/errors.ts';
import { parseOrThrow, type Issue } from './validation.ts';

function failure(schema: z.ZodType, value: unknown, location = 'body'): RunyardError {
  try {
    parseOrThrow(schema, value, location);
  } catch (error) {
    expect(error).toBeInstanceOf(RunyardError);
    return error as RunyardError;
  }
  throw new Error('expected VALIDATION_FAILED');
}

const issuesOf = (error: RunyardError) => error.details.issues as Issue[];

const agent = z.strictObject({
  slug: z.string().regex(/^[a-z-]+$/, 'must be a-z and -'),
  settings: z.strictObject({ temperature: z.number().max(2) }).optional(),
  tools: z.array(z.string()).optional(),
  limit: z.coerce.number().int().default(20),
});

describe('parseOrThrow', () => {
  it('returns the parsed value, defaults and coercions applied', () => {
    expect(parseOrThrow(agent, { slug: 'ok', limit: '5' }, 'body')).toEqual({ slug: 'ok', limit: 5 });
    expect(parseOrThrow(agent, { slug: 'ok' }, 'body')).toEqual({ slug: 'ok', limit: 20 });
  });

  it('gives each issue a dotted path, array indexes included', () => {
    const error = failure(agent, { slug: 'Bad!', settings: { temperature: 3 }, tools: ['a', 7] });
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.details.location).toBe('body');
    expect(issuesOf(error).map((issue) => [issue.path, issue.code])).toEqual([
      ['slug', 'invalid_format'],
      ['settings.temperature', 'too_big'],
      ['tools.1', 'invalid_type'],
    ]);
    expect(issuesOf(error)[0]?.message).toBe('must be a-z and -');
  });

  it('names each unknown key, at any depth, as not a known field', () => {
    const error = failure(agent, { slug: 'ok', extra: 1, other: 2, settings: { temperature: 1, hot: true } });
    expect(issuesOf(error)).toEqual(
      expect.arrayContaining([
        { path: 'extra', message: 'is not a known field', code: 'unrecognized_keys' },
        { path: 'other', message: 'is not a known field', code: 'unrecognized_keys' },
        { path: 'settings.hot', message: 'is not a known field', code: 'unrecognized_keys' },
      ]),
    );
    expect(issuesOf(error)).toHaveLength(3);
  });

  it('puts the first field and its message in the error message', () => {
    expect(failure(agent, { slug: 'Bad!' }).message).toBe('slug: must be a-z and -');
    expect(failure(agent, { slug: 'ok', extra: 1 }).message).toBe('extra: is not a known field');
    expect(failure(agent, { slug: 'ok', settings: { temperature: 9 } }).message).toMatch(
      /^settings\.temperature: /,
    );
    // Outside the body the location leads the path.
    const query = failure(z.object({ limit: z.coerce.number().int().max(100) }), { limit: '500' }, 'query');
    expect(query.message).toMatch(/^query limit: /);
    expect(query.details).toMatchObject({ location: 'query', issues: [{ path: 'limit', code: 'too_big' }] });
    // An issue with the whole value names the location.
    expect(failure(agent, 'not an object').message).toMatch(/^body: /);
    expect(failure(z.object({ id: z.string() }), 5, 'params').message).toMatch(/^params: /);
    expect(issuesOf(failure(agent, null))).toEqual([
      { path: '', message: expect.any(String) as unknown, code: 'invalid_type' },
    ]);
  });
});
