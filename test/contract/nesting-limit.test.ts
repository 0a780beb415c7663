import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes, type RouteDefinition } from '@runyard/protocol';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  compatKey,
  compatOperations,
  compatPath,
  expectSurfaceError,
  surfaceKeyHeaders,
} from './compat-contract.ts';
import { expectCatalogueError, send } from './contract-http.ts';

/**
 * A request body nested deeper than 64 levels is a 400 on every route that takes a body, /v1 and
 * every compat surface, in that surface's own error shape, with or without a key (it is refused
 * with the body, before anything reads it). 5,000 levels once overflowed the stack of the runagents
 * echo service (a 500); the server keeps serving afterwards.
 */

const depth = 5000;
const bodies = {
  arrays: `${'['.repeat(depth)}${']'.repeat(depth)}`,
  objects: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
};

const v1WithBody = Object.values(routes as Record<string, RouteDefinition>).filter(
  (route) => route.method !== 'GET',
);
const compatWithBody = compatOperations.filter((operation) => operation.method !== 'GET');

describe.each(backendNames)('bodies nested deeper than the limit on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;

  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend);
  });
  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('the compat routes that take a body include every surface', () => {
    expect(new Set(compatWithBody.map((operation) => operation.surface))).toEqual(
      new Set(['make', 'runtools', 'runagents']),
    );
    expect(compatWithBody.map(compatKey)).toContain('runagents.echo');
  });

  for (const [shape, text] of Object.entries(bodies)) {
    it.skipIf(skip)(
      `/v1: ${depth} levels of ${shape} are a 400 VALIDATION_FAILED on every route`,
      async () => {
        for (const route of v1WithBody) {
          const path = route.path.replace(/\{(\w+)\}/g, 'x');
          for (const apiKey of [server.adminKey, undefined]) {
            const label = `${route.operationId} ${apiKey === undefined ? 'without' : 'with'} a key`;
            const response = await send(server.url, {
              method: route.method,
              path,
              apiKey,
              rawBody: text,
              headers: { 'content-type': 'application/json' },
            });
            const error = expectCatalogueError(response, label);
            expect(error.code, label).toBe('VALIDATION_FAILED');
            expect(error.details.location, label).toBe('body');
            expect(error.message, label).toMatch(/must not nest deeper than 64 levels/);
          }
        }
      },
    );

    it.skipIf(skip)(
      `compat: ${depth} levels of ${shape} are a 400 in the surface's shape on every operation`,
      async () => {
        const covered: string[] = [];
        for (const operation of compatWithBody) {
          const params = Object.fromEntries(
            [...operation.path.matchAll(/:(\w+)/g)].map((match) => [match[1] ?? '', 'x']),
          );
          const query = operation.surface === 'make' ? '?teamId=1' : '';
          for (const keyed of [true, false]) {
            const label = `${compatKey(operation)} ${keyed ? 'with' : 'without'} a key`;
            const response = await send(server.url, {
              method: operation.method,
              path: `${compatPath(operation, params)}${query}`,
              rawBody: text,
              headers: {
                'content-type': 'application/json',
                ...(keyed ? surfaceKeyHeaders(operation, server.adminKey) : {}),
              },
            });
            expect(response.status, `${label}: ${response.text.slice(0, 300)}`).toBe(400);
            const error = expectSurfaceError(operation.surface, response, label);
            expect(error.code, label).toBe(operation.surface === 'make' ? 'SC400' : 'bad_request');
            expect(error.message, label).toMatch(/must not nest deeper than 64 levels/);
          }
          covered.push(compatKey(operation));
        }
        console.log(`nesting limit (${shape}) covers the compat operations: ${covered.join(', ')}`);
        expect(covered).toEqual(compatWithBody.map(compatKey));
      },
    );
  }

  it.skipIf(skip)('64 levels pass, and the server still serves after the deep bodies', async () => {
    const allowed = `${'['.repeat(64)}${']'.repeat(64)}`;
    const echoed = await send(server.url, {
      method: 'POST',
      path: '/compat/runagents/echo',
      rawBody: allowed,
      headers: { 'content-type': 'application/json' },
    });
    expect(echoed.status, echoed.text).toBe(200);
    expect(echoed.text).toBe(`{"echo":${allowed}}`);
    const health = await send(server.url, { path: '/healthz' });
    expect(health.status).toBe(200);
    const agents = await send(server.url, { path: '/v1/agents', apiKey: server.adminKey });
    expect(agents.status, agents.text).toBe(200);
    const created = await send(server.url, {
      method: 'POST',
      path: '/compat/runtools/v1/threads',
      headers: { 'x-api-key': server.adminKey },
      json: { title: 'after the deep bodies' },
    });
    expect(created.status, created.text).toBe(201);
  });
});
