import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompatAuthStyle } from '@runyard/server';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  compatKey,
  compatOperations,
  compatPath,
  expectSurfaceError,
  keyHeaders,
  surfaceKeyHeaders,
  type CompatCatalogueEntry,
} from './compat-contract.ts';
import { send, type RawResponse } from './contract-http.ts';

/**
 * The error catalogue of the compat surfaces, over HTTP, for every compat operation: a missing key
 * is a 401 whose message names exactly the key styles the surface accepts (each named style works,
 * each other one is refused), a key that is not valid is a 401, a key without the operation's scope
 * a 403 naming it, an unknown route under the prefix a 404; all in the surface's own error shape.
 */

const allStyles: readonly CompatAuthStyle[] = ['token', 'bearer', 'x-api-key'];
const styleMentions: Record<CompatAuthStyle, RegExp> = {
  token: /Authorization: Token/i,
  bearer: /Authorization: Bearer/i,
  'x-api-key': /x-api-key/i,
};

const keyed = compatOperations.filter((operation) => operation.scope !== null);
const publicOperations = compatOperations.filter((operation) => operation.scope === null);
const surfaces = [...new Set(compatOperations.map((operation) => operation.surface))];

/** Path values no resource has (the answer after authentication does not matter here). */
function pathOf(operation: CompatCatalogueEntry): string {
  const params = Object.fromEntries(
    [...operation.path.matchAll(/:(\w+)/g)].map((match) => [match[1] ?? '', 'no-such-thing']),
  );
  return `${compatPath(operation, params)}${operation.surface === 'make' ? '?teamId=1' : ''}`;
}

describe.each(backendNames)('compat error catalogue over HTTP on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  /** Keys with exactly one scope each. */
  const scopedKeys: Record<string, string> = {};

  const call = (operation: CompatCatalogueEntry, headers: Record<string, string>): Promise<RawResponse> =>
    send(server.url, { method: operation.method, path: pathOf(operation), headers });

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend);
    for (const scope of ['read', 'write', 'run'] as const) {
      scopedKeys[scope] = (await server.admin.apiKeys.create({ name: `only-${scope}`, scopes: [scope] })).key;
    }
  });
  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('covers every compat operation (listed here)', () => {
    const table = compatOperations.map(
      (operation) =>
        `${compatKey(operation).padEnd(32)} ${operation.method.padEnd(6)} ${operation.path.padEnd(56)} ${operation.scope ?? 'public'} [${operation.auth.join(', ')}]`,
    );
    console.log(`compat error catalogue covers:\n${table.join('\n')}`);
    expect(keyed.length + publicOperations.length).toBe(compatOperations.length);
    expect(publicOperations.map(compatKey)).toEqual(['runagents.echo', 'runagents.echoWithSlash']);
  });

  for (const operation of keyed) {
    const label = compatKey(operation);

    it.skipIf(skip)(`${label}: a missing key is a 401 naming exactly the styles that work`, async () => {
      const missing = await call(operation, {});
      expect(missing.status, missing.text).toBe(401);
      const error = expectSurfaceError(operation.surface, missing, `${label} without a key`);
      for (const style of allStyles) {
        const accepted = operation.auth.includes(style);
        expect(styleMentions[style].test(error.message), `${label}: "${error.message}" and ${style}`).toBe(
          accepted,
        );
        // What the message names works; what it does not name is refused.
        const answer = await call(operation, keyHeaders(style, server.adminKey));
        if (accepted) expect(answer.status, `${label} with ${style}: ${answer.text}`).not.toBe(401);
        else {
          expect(answer.status, `${label} with ${style}: ${answer.text}`).toBe(401);
          expectSurfaceError(operation.surface, answer, `${label} with ${style}`);
        }
      }
    });

    it.skipIf(skip)(`${label}: a key that is not valid, or in another scheme, is a 401`, async () => {
      for (const headers of [
        surfaceKeyHeaders(operation, 'ry_not_a_real_key_000000000000000000000'),
        { authorization: `Basic ${server.adminKey}` },
        { authorization: 'Bearer ' },
      ]) {
        const response = await call(operation, headers);
        expect(response.status, `${label} ${JSON.stringify(headers)}: ${response.text}`).toBe(401);
        const error = expectSurfaceError(operation.surface, response, label);
        expect(error.code).toBe(operation.surface === 'make' ? 'SC401' : 'unauthorized');
        expect(error.message).not.toContain(server.adminKey);
      }
    });

    it.skipIf(skip)(`${label}: a key without the '${operation.scope}' scope is a 403 naming it`, async () => {
      for (const [scope, key] of Object.entries(scopedKeys)) {
        if (scope === operation.scope) continue;
        const response = await call(operation, surfaceKeyHeaders(operation, key));
        expect(response.status, `${label} with a ${scope} key: ${response.text}`).toBe(403);
        const error = expectSurfaceError(operation.surface, response, `${label} with a ${scope} key`);
        expect(error.code).toBe(operation.surface === 'make' ? 'SC403' : 'forbidden');
        expect(error.message).toContain(`'${operation.scope}' scope`);
      }
    });
  }

  for (const operation of publicOperations) {
    it.skipIf(skip)(`${compatKey(operation)}: public, it reads no key and answers without one`, async () => {
      const response = await send(server.url, {
        method: operation.method,
        path: operation.path,
        json: { text: 'hello' },
      });
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({ echo: { text: 'hello' } });
    });
  }

  for (const surface of surfaces) {
    it.skipIf(skip)(`${surface}: an unknown route under its prefix is a 404 in its shape`, async () => {
      const prefix = compatOperations.find((operation) => operation.surface === surface)?.path.split('/')[2];
      const response = await send(server.url, {
        path: `/compat/${prefix ?? surface}/no/such/route`,
        apiKey: server.adminKey,
      });
      expect(response.status, response.text).toBe(404);
      const error = expectSurfaceError(surface, response, `${surface} unknown route`);
      expect(error.code).toBe(surface === 'make' ? 'SC404' : 'not_found');
    });
  }
});
