import type { AgentConfig } from '@runyard/protocol';
import { describe, expect, it } from 'vitest';
import { RunyardError } from '../shared/errors.ts';
import { assertValidOutputSchema, contentHash, diffConfigs, normalizeConfig } from './agent-config.ts';

function validationError(work: () => void): RunyardError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(RunyardError);
    return error as RunyardError;
  }
  throw new Error('expected a validation error');
}

const base: AgentConfig = normalizeConfig({ model: 'playground/playground' });

describe('normalizeConfig', () => {
  it('fills every behaviour default', () => {
    expect(base).toEqual({
      model: 'playground/playground',
      instructions: '',
      tools: [],
      policies: [],
      outputSchema: null,
      settings: {},
      env: {},
    });
  });

  it('keeps given behaviour fields and drops descriptive ones', () => {
    const config = normalizeConfig({
      slug: 'helper',
      name: 'Helper',
      tags: ['a'],
      metadata: { k: 'v' },
      model: 'local/gpt-x',
      instructions: 'Be brief.',
      tools: ['search'],
      policies: ['no-pii'],
      outputSchema: { type: 'object' },
      settings: { temperature: 0 },
      env: { TOKEN: { secret: 'API_KEY' } },
    });
    expect(config).toEqual({
      model: 'local/gpt-x',
      instructions: 'Be brief.',
      tools: ['search'],
      policies: ['no-pii'],
      outputSchema: { type: 'object' },
      settings: { temperature: 0 },
      env: { TOKEN: { secret: 'API_KEY' } },
    });
    expect(Object.keys(config).sort()).toEqual(Object.keys(base).sort());
  });
});

describe('contentHash', () => {
  it('is sha256: and 64 hex characters, stable under key order at every depth', () => {
    const one: AgentConfig = {
      ...base,
      settings: { temperature: 0.5, maxTokens: 10 },
      env: { A: 'x', B: { secret: 'S' } },
      outputSchema: { type: 'object', properties: { b: { type: 'string' }, a: { type: 'number' } } },
    };
    const reordered = {
      env: { B: { secret: 'S' }, A: 'x' },
      outputSchema: { properties: { a: { type: 'number' }, b: { type: 'string' } }, type: 'object' },
      settings: { maxTokens: 10, temperature: 0.5 },
      policies: [],
      tools: [],
      instructions: '',
      model: 'playground/playground',
    } as AgentConfig;
    expect(contentHash(one)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(contentHash(reordered)).toBe(contentHash(one));
    expect(contentHash(structuredClone(one))).toBe(contentHash(one));
  });

  it('changes with any behaviour, including array order', () => {
    const hashes = [
      base,
      { ...base, instructions: ' ' },
      { ...base, model: 'playground/other' },
      { ...base, tools: ['a', 'b'] },
      { ...base, tools: ['b', 'a'] },
      { ...base, settings: { temperature: 0 } },
      { ...base, env: { A: 'x' } },
      { ...base, env: { A: { secret: 'x' } } },
      { ...base, outputSchema: {} },
    ].map(contentHash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});

describe('assertValidOutputSchema', () => {
  it('accepts null and valid JSON Schemas', () => {
    expect(() => assertValidOutputSchema(null)).not.toThrow();
    expect(() => assertValidOutputSchema({})).not.toThrow();
    expect(() =>
      assertValidOutputSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          answer: { type: 'string', minLength: 1 },
          items: { type: 'array', items: { $ref: '#/$defs/item' } },
        },
        required: ['answer'],
        $defs: { item: { type: 'integer' } },
      }),
    ).not.toThrow();
  });

  it('rejects an invalid schema, naming outputSchema and where', () => {
    const error = validationError(() => assertValidOutputSchema({ type: 'not-a-type' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(/^outputSchema: is not a valid JSON Schema at \/type/);
    expect(error.details).toEqual({
      issues: [
        {
          path: 'outputSchema',
          message: expect.stringContaining('is not a valid JSON Schema') as unknown,
          code: 'invalid_value',
        },
      ],
    });
    const nested = validationError(() => assertValidOutputSchema({ properties: { a: { minLength: -1 } } }));
    expect(nested.message).toMatch(/^outputSchema: is not a valid JSON Schema at \/properties\/a\/minLength/);
    expect(validationError(() => assertValidOutputSchema({ required: 'a' })).message).toMatch(
      /^outputSchema: /,
    );
  });

  it('rejects a schema that cannot be compiled (unresolvable $ref)', () => {
    const error = validationError(() => assertValidOutputSchema({ $ref: '#/$defs/missing' }));
    expect(error.message).toMatch(/^outputSchema: is not a usable JSON Schema: /);
    expect(error.details).toMatchObject({ issues: [{ path: 'outputSchema' }] });
  });
});

describe('diffConfigs', () => {
  it('finds nothing between equal configs, whatever the key order', () => {
    const reordered = { ...base, settings: { maxTokens: 1, temperature: 1 } };
    const original = { ...base, settings: { temperature: 1, maxTokens: 1 } };
    expect(diffConfigs(1, original, 2, reordered)).toEqual({ from: 1, to: 2, changes: [] });
  });

  it('reports each changed leaf by dotted path, in path order', () => {
    const before: AgentConfig = {
      ...base,
      instructions: 'old',
      tools: ['a'],
      settings: { temperature: 0.1, maxTokens: 5 },
      env: { KEEP: 'same', TOKEN: { secret: 'OLD' }, GONE: 'bye' },
      outputSchema: { type: 'object', properties: { a: { type: 'string' } } },
    };
    const after: AgentConfig = {
      ...base,
      instructions: 'new',
      tools: ['a', 'b'],
      settings: { temperature: 0.2, maxTokens: 5, maxIterations: 3 },
      env: { KEEP: 'same', TOKEN: { secret: 'NEW' }, ADDED: 'hi' },
      outputSchema: { type: 'object', properties: { a: { type: 'number' } } },
    };
    expect(diffConfigs(3, before, 4, after)).toEqual({
      from: 3,
      to: 4,
      changes: [
        { path: 'env.ADDED', before: null, after: 'hi' },
        { path: 'env.GONE', before: 'bye', after: null },
        { path: 'env.TOKEN.secret', before: 'OLD', after: 'NEW' },
        { path: 'instructions', before: 'old', after: 'new' },
        // The output schema is one value: its inner paths are not behaviour settings.
        {
          path: 'outputSchema',
          before: { type: 'object', properties: { a: { type: 'string' } } },
          after: { type: 'object', properties: { a: { type: 'number' } } },
        },
        { path: 'settings.maxIterations', before: null, after: 3 },
        { path: 'settings.temperature', before: 0.1, after: 0.2 },
        // Arrays are compared whole.
        { path: 'tools', before: ['a'], after: ['a', 'b'] },
      ],
    });
  });

  it('reports a schema appearing or disappearing as the whole outputSchema', () => {
    const withSchema = { ...base, outputSchema: { type: 'string' } };
    expect(diffConfigs(1, base, 2, withSchema).changes).toEqual([
      { path: 'outputSchema', before: null, after: { type: 'string' } },
    ]);
    expect(diffConfigs(2, withSchema, 1, base).changes).toEqual([
      { path: 'outputSchema', before: { type: 'string' }, after: null },
    ]);
  });
});
