import { describe, expect, it } from 'vitest';
import { CredentialScrubber } from './credential-scrubber.ts';
import { DefinitionProblem, placeInput, planInput, templateParameters } from './http-input.ts';
import { OAuth2TokenCache } from './oauth2-token-cache.ts';
import { ToolError } from './tool-error.ts';
import { sleep } from '@runyard/protocol';

const problemOf = (work: () => unknown): { path: string; message: string } | undefined => {
  try {
    work();
    return undefined;
  } catch (error) {
    if (error instanceof DefinitionProblem) return { path: error.path, message: error.message };
    throw error;
  }
};

describe('input placement', () => {
  const schema = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      page: { type: 'integer', 'x-runyard-in': 'query' },
      trace: { type: 'string', 'x-runyard-in': 'header' },
      title: { type: 'string' },
      note: { type: 'string', 'x-runyard-in': 'body' },
    },
  };

  it('sends {name} to the path, x-runyard-in where it says, the rest by method', () => {
    const get = planInput('GET', '/items/{id}', schema);
    expect(Object.fromEntries(get.placements)).toEqual({
      id: 'path',
      page: 'query',
      trace: 'header',
      title: 'query',
      note: 'body',
    });
    const post = planInput('POST', '/items/{id}', schema);
    expect(post.placements.get('title')).toBe('body');
    expect(post.otherwise).toBe('body');
    expect(planInput('DELETE', '/', { type: 'object' }).otherwise).toBe('query');
  });

  it('shows the model the schema without Runyard keywords', () => {
    const plan = planInput('POST', '/items/{id}', { ...schema, 'x-runyard-body': undefined });
    expect(JSON.stringify(plan.modelSchema)).not.toContain('x-runyard');
    expect(plan.modelSchema.properties).toEqual({
      id: { type: 'string' },
      page: { type: 'integer' },
      trace: { type: 'string' },
      title: { type: 'string' },
      note: { type: 'string' },
    });
  });

  it('builds the URL, headers and JSON body', () => {
    const plan = planInput('POST', '/items/{id}?fixed=yes', schema);
    const placed = placeInput(plan, 'https://api.test/v2/?tenant=t1', {
      id: 'a/b c',
      page: 3,
      trace: 'xyz',
      title: 'Hello',
      note: 'n',
      extra: [1, 2],
    });
    expect(placed.url.toString()).toBe('https://api.test/v2/items/a%2Fb%20c?tenant=t1&fixed=yes&page=3');
    expect(placed.headers).toEqual({ trace: 'xyz', 'content-type': 'application/json' });
    expect(JSON.parse(placed.body ?? '')).toEqual({ title: 'Hello', note: 'n', extra: [1, 2] });

    const get = planInput('GET', '/search', {
      type: 'object',
      properties: { tags: { type: 'array' }, filter: { type: 'object' } },
    });
    const query = placeInput(get, 'https://api.test', { tags: ['a', 'b'], filter: { x: 1 }, skip: null });
    expect(query.url.search).toBe(`?tags=a&tags=b&filter=${encodeURIComponent('{"x":1}')}`);
    expect(query.body).toBeUndefined();
  });

  it('sends one property as the whole body when x-runyard-body names it', () => {
    const plan = planInput('PUT', '/items/{id}', {
      type: 'object',
      'x-runyard-body': 'items',
      properties: { id: { type: 'string' }, items: { type: 'array' } },
    });
    expect(plan.modelSchema['x-runyard-body']).toBeUndefined();
    expect(placeInput(plan, 'https://api.test', { id: '1', items: [1, 2] }).body).toBe('[1,2]');
  });

  it('refuses inputs that cannot be sent', () => {
    const plan = planInput('GET', '/items/{id}', schema);
    expect(() => placeInput(plan, 'https://api.test', { trace: 'x' })).toThrow(ToolError);
    expect(() => placeInput(plan, 'https://api.test', { id: '1', trace: 'a\r\nx-evil: 1' })).toThrow(
      /line breaks/,
    );
  });

  it('refuses definitions that cannot work, naming the field', () => {
    expect(templateParameters('/a/{x}/b/{y}?q={z}')).toEqual(['x', 'y']);
    expect(problemOf(() => planInput('GET', '/', { type: 'array' }))?.path).toBe('inputSchema.type');
    expect(problemOf(() => planInput('GET', '/u/{id}', { type: 'object' }))?.message).toContain("'id'");
    expect(
      problemOf(() =>
        planInput('GET', '/u/{id}', { type: 'object', properties: { id: { 'x-runyard-in': 'query' } } }),
      )?.path,
    ).toBe('inputSchema.properties.id.x-runyard-in');
    expect(
      problemOf(() =>
        planInput('GET', '/', { type: 'object', properties: { a: { 'x-runyard-in': 'path' } } }),
      )?.message,
    ).toContain('no {a}');
    expect(
      problemOf(() =>
        planInput('GET', '/', { type: 'object', properties: { 'bad header': { 'x-runyard-in': 'header' } } }),
      )?.path,
    ).toBe('inputSchema.properties.bad header');
    expect(
      problemOf(() =>
        planInput('POST', '/', {
          type: 'object',
          'x-runyard-body': 'a',
          properties: { a: {}, b: {} },
        }),
      )?.message,
    ).toContain('(b)');
  });
});

describe('the credential scrubber', () => {
  it('removes every form of a value, longest first', () => {
    const scrubber = new CredentialScrubber();
    scrubber.add('s3cr et"/x');
    scrubber.add('s3cr');
    scrubber.add('');
    expect(scrubber.scrub('a s3cr et"/x b')).toBe('a [redacted] b');
    expect(scrubber.scrub(`?k=${encodeURIComponent('s3cr et"/x')}`)).toBe('?k=[redacted]');
    expect(scrubber.scrub(JSON.stringify({ v: 's3cr et"/x' }))).toBe('{"v":"[redacted]"}');
    expect(scrubber.scrub('s3cr alone')).toBe('[redacted] alone');
  });
});

describe('the OAuth2 token cache', () => {
  it('fetches once for concurrent calls, and again when the token nears its expiry', async () => {
    let now = 1_000_000;
    const cache = new OAuth2TokenCache(() => now);
    let fetched = 0;
    const fetchToken = async () => {
      fetched += 1;
      await sleep(5);
      return { accessToken: `token-${fetched}`, expiresInSeconds: 100 };
    };
    const tokens = await Promise.all([cache.get('k', fetchToken), cache.get('k', fetchToken)]);
    expect(tokens).toEqual(['token-1', 'token-1']);
    // Refreshed a tenth of the lifetime early: 90 s.
    now += 89_999;
    expect(await cache.get('k', fetchToken)).toBe('token-1');
    now += 1;
    expect(await cache.get('k', fetchToken)).toBe('token-2');
    // Invalidation forgets only the token it names.
    cache.invalidate('k', 'token-1');
    expect(await cache.get('k', fetchToken)).toBe('token-2');
    cache.invalidate('k', 'token-2');
    expect(await cache.get('k', fetchToken)).toBe('token-3');
    expect(await cache.get('other', fetchToken)).toBe('token-4');
  });

  it('does not cache a failed fetch', async () => {
    const cache = new OAuth2TokenCache();
    await expect(cache.get('k', () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(
      await cache.get('k', () => Promise.resolve({ accessToken: 'ok', expiresInSeconds: undefined })),
    ).toBe('ok');
  });
});
