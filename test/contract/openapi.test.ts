import SwaggerParser from '@apidevtools/swagger-parser';
import { routes, type RouteDefinition } from '@runyard/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

interface Operation {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  'x-required-scope'?: string;
  'x-accepted-scopes'?: string[];
  parameters?: { name: string; in: string; required?: boolean }[];
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: Record<string, unknown> }> }
  >;
}

interface Document {
  openapi: string;
  security?: unknown[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

const catalogue = Object.values(routes) as RouteDefinition[];
const errorReference = { $ref: '#/components/schemas/Error' };

describe('the OpenAPI document at /openapi.json', () => {
  let server: TestServer;
  let document: Document;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    document = (await response.json()) as Document;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    // validate() dereferences in place: hand it a copy so the later checks see the document as served.
    const validated = await SwaggerParser.validate(structuredClone(document) as never);
    expect((validated as { openapi?: string }).openapi).toBe(document.openapi);
  });

  it('has every route of the catalogue with its method, path and operationId', () => {
    for (const route of catalogue) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation?.operationId).toBe(route.operationId);
      expect(operation?.summary).toBe(route.summary);
    }
    const operationIds = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((operation) => operation.operationId),
    );
    expect(new Set(operationIds).size, 'operationIds are unique').toBe(operationIds.length);
    const catalogued = new Set(catalogue.map((route) => route.operationId));
    const extra = operationIds.filter((id) => id === undefined || !catalogued.has(id));
    expect(extra.sort(), 'only the system routes are outside the catalogue').toEqual(
      ['health', 'openapi', 'readiness'].sort(),
    );
  });

  it('declares every path parameter as a required path parameter', () => {
    for (const route of catalogue) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      const declared = (operation?.parameters ?? []).filter((parameter) => parameter.in === 'path');
      const templated = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      expect(declared.map((parameter) => parameter.name).sort(), route.operationId).toEqual(templated.sort());
      for (const parameter of declared) expect(parameter.required, parameter.name).toBe(true);
    }
  });

  it('documents the success status and the error responses of every operation', () => {
    for (const route of catalogue) {
      const responses = document.paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {};
      for (const status of [route.status, ...(route.alternativeStatuses ?? [])]) {
        const success = responses[String(status)];
        expect(success, `${route.operationId} ${status}`).toBeDefined();
        if (route.response === null) {
          expect(success?.content, `${route.operationId} ${status} has no body`).toBeUndefined();
        } else if (route.binary === true) {
          // Raw bytes (an artifact) with their own content type, not JSON.
          expect(success?.content, `${route.operationId} ${status}`).toEqual({
            '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
          });
        } else {
          expect(
            success?.content?.['application/json']?.schema,
            `${route.operationId} ${status}`,
          ).toBeDefined();
        }
      }
      const expectedErrors = ['400', 'default'];
      if (route.scope !== null) expectedErrors.push('401', '403', '429');
      if (route.params !== undefined) expectedErrors.push('404');
      if (route.conditional === true) expectedErrors.push('412');
      for (const status of expectedErrors) {
        const error = responses[status];
        expect(error, `${route.operationId} documents ${status}`).toBeDefined();
        expect(error?.description, `${route.operationId} ${status}`).toBeTruthy();
        expect(error?.content?.['application/json']?.schema, `${route.operationId} ${status}`).toEqual(
          errorReference,
        );
      }
    }
    expect(document.components.schemas.Error).toBeDefined();
  });

  it('states which routes need a key and which scope', () => {
    expect(document.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiKeyHeader', 'bearerAuth']);
    for (const route of catalogue) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      if (route.scope === null) {
        expect(operation?.security, route.operationId).toEqual([]);
      } else if (typeof route.scope === 'string') {
        expect(operation?.['x-required-scope'], route.operationId).toBe(route.scope);
        expect(operation?.['x-accepted-scopes'], route.operationId).toBeUndefined();
      } else {
        // Any one of several will do (following a run: read or run); the first is the required one.
        expect(operation?.['x-required-scope'], route.operationId).toBe(route.scope[0]);
        expect(operation?.['x-accepted-scopes'], route.operationId).toEqual(route.scope);
      }
    }
  });

  it('serves the document and the docs page without an API key', async () => {
    for (const path of [
      '/openapi.json',
      '/docs',
      '/docs/assets/swagger-ui.css',
      '/docs/assets/swagger-ui-bundle.js',
    ]) {
      const response = await fetch(server.url + path);
      expect(response.status, path).toBe(200);
      expect((await response.arrayBuffer()).byteLength, path).toBeGreaterThan(100);
    }
    const page = await (await fetch(`${server.url}/docs`)).text();
    expect(page).toContain('/openapi.json');
    expect(page, 'the page loads nothing from another origin').not.toMatch(/(src|href)="https?:/);
    // The API itself still needs a key.
    expect((await fetch(`${server.url}/v1/agents`)).status).toBe(401);
  });
});
