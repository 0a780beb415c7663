import { expect } from 'vitest';
import { compatOperations, type CompatCatalogueEntry } from '@runyard/server';
import type { RawResponse } from './contract-http.ts';

/**
 * Shared by the contract suites' compat parts: the compat catalogue (every operation of every
 * surface, as `compat-routes.ts` declares them), its keys, and each surface's own error shape.
 */

export { compatOperations, type CompatCatalogueEntry };

/** `make.createAgent`: how the contract tables name a compat operation. */
export function compatKey(operation: Pick<CompatCatalogueEntry, 'surface' | 'operationId'>): string {
  return `${operation.surface}.${operation.operationId}`;
}

export const compatKeys = compatOperations.map(compatKey);

export function compatOperation(key: string): CompatCatalogueEntry {
  const operation = compatOperations.find((candidate) => compatKey(candidate) === key);
  if (operation === undefined) throw new Error(`no compat operation ${key}`);
  return operation;
}

/**
 * A table keyed by compat operation covers exactly the catalogue: every operation, and nothing
 * that no longer exists. A new compat operation fails the suite until its table covers it.
 */
export function expectCoversCompatCatalogue(table: Record<string, unknown>, suite: string): void {
  const uncovered = compatKeys.filter((key) => table[key] === undefined);
  const stale = Object.keys(table).filter((key) => !compatKeys.includes(key));
  expect(uncovered, `compat operations the ${suite} table does not cover`).toEqual([]);
  expect(stale, `${suite} table entries for compat operations that no longer exist`).toEqual([]);
}

/** The operation's path with its `:params` filled in (percent-encoded unless `encode` is false). */
export function compatPath(
  operation: CompatCatalogueEntry,
  params: Record<string, string> = {},
  encode = true,
): string {
  const names = [...operation.path.matchAll(/:(\w+)/g)].map((match) => match[1] ?? '');
  expect(Object.keys(params).sort(), `${compatKey(operation)}: path parameters`).toEqual(names.sort());
  return operation.path.replace(/:(\w+)/g, (_match, name: string) => {
    const value = params[name] ?? '';
    return encode ? encodeURIComponent(value) : value;
  });
}

/** An error as each surface renders it: its status, the surface's own code, message, field paths. */
export interface SurfaceErrorView {
  code: string;
  message: string;
  /** The fields a validation failure names (Make's suberrors, the others' details.issues). */
  fields: string[];
}

/**
 * Asserts the response is an error in the surface's own shape (never /v1's), JSON, with the request
 * id where the surface shows one, and returns it.
 *
 * - make: `{message, code: "SC<status>", detail, suberrors?}` (Make's one error schema)
 * - runtools: `{error: {code, message, requestId, details?}}`
 * - runagents: `{error, code, request_id, details?}`
 */
export function expectSurfaceError(surface: string, response: RawResponse, label: string): SurfaceErrorView {
  const context = `${label} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(response.status, context).toBeGreaterThanOrEqual(400);
  expect(response.headers.get('content-type') ?? '', context).toMatch(/^application\/json\b/);
  const body = response.body as Record<string, unknown>;
  expect(typeof body, context).toBe('object');
  const requestId = response.headers.get('x-request-id');
  const issuePaths = (details: unknown) =>
    ((details as { issues?: { path: string }[] } | undefined)?.issues ?? []).map((issue) => issue.path);
  switch (surface) {
    case 'make': {
      expect(body.code, context).toBe(`SC${response.status}`);
      expect(typeof body.message, context).toBe('string');
      expect(typeof body.detail, context).toBe('string');
      expect(body.error, context).toBeUndefined();
      const suberrors = (body.suberrors ?? []) as { path: string }[];
      return {
        code: body.code as string,
        message: body.detail as string,
        fields: suberrors.map((item) => item.path),
      };
    }
    case 'runtools': {
      const error = body.error as Record<string, unknown>;
      expect(error, context).toMatchObject({ code: expect.stringMatching(/^[a-z_]+$/) as unknown });
      expect(typeof error.message, context).toBe('string');
      expect(error.requestId, context).toBe(requestId);
      return {
        code: error.code as string,
        message: error.message as string,
        fields: issuePaths(error.details),
      };
    }
    case 'runagents': {
      expect(typeof body.error, context).toBe('string');
      expect(body.code, context).toMatch(/^[a-z_]+$/);
      expect(body.request_id, context).toBe(requestId);
      return { code: body.code as string, message: body.error as string, fields: issuePaths(body.details) };
    }
    default:
      throw new Error(`no error shape known for the compat surface ${surface}`);
  }
}

/** The lower-case code a status becomes on the runtools and runagents surfaces (Make: SC<status>). */
export function surfaceCode(surface: string, status: number, lowerCase: string): string {
  return surface === 'make' ? `SC${status}` : lowerCase;
}

/** Headers that present a key the way a surface's auth style reads it. */
export function keyHeaders(style: string, key: string): Record<string, string> {
  switch (style) {
    case 'token':
      return { authorization: `Token ${key}` };
    case 'bearer':
      return { authorization: `Bearer ${key}` };
    case 'x-api-key':
      return { 'x-api-key': key };
    default:
      throw new Error(`unknown auth style ${style}`);
  }
}

/** The key headers of a surface's first (documented) style. */
export function surfaceKeyHeaders(operation: CompatCatalogueEntry, key: string): Record<string, string> {
  const style = operation.auth[0];
  return style === undefined ? {} : keyHeaders(style, key);
}
