import { describe, expect, it } from 'vitest';
import { DefinitionProblem } from './http-input.ts';
import { openApiTools } from './openapi-tools.ts';

const problemPath = (document: Record<string, unknown>): string | undefined => {
  try {
    openApiTools(document);
    return undefined;
  } catch (error) {
    if (error instanceof DefinitionProblem) return error.path;
    throw error;
  }
};

const base = { openapi: '3.0.3', info: { title: 't', version: '1' } };

describe('OpenAPI documents as tools', () => {
  it('merges path-level and operation parameters, and flattens an object body', () => {
    const tools = openApiTools({
      ...base,
      servers: [{ url: 'https://{region}.api.test/v1', variables: { region: { default: 'eu' } } }],
      paths: {
        '/pets/{petId}': {
          parameters: [
            { name: 'petId', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'X-Trace', in: 'header', schema: { type: 'string' } },
          ],
          patch: {
            operationId: 'updatePet',
            description: 'Change a pet',
            parameters: [
              { $ref: '#/components/parameters/Dry' },
              { name: 'X-Trace', in: 'header', required: true, schema: { type: 'string', maxLength: 8 } },
              { name: 'session', in: 'cookie', schema: { type: 'string' } },
            ],
            requestBody: { $ref: '#/components/requestBodies/Pet' },
          },
        },
      },
      components: {
        parameters: {
          Dry: { name: 'dry', in: 'query', description: 'Only check', schema: { type: 'boolean' } },
        },
        requestBodies: {
          Pet: {
            required: true,
            content: { 'application/merge-patch+json': { schema: { $ref: '#/components/schemas/Pet' } } },
          },
        },
        schemas: {
          Pet: {
            type: 'object',
            properties: { name: { type: 'string' }, owner: { $ref: '#/components/schemas/Owner' } },
            required: ['name'],
          },
          Owner: { type: 'object', properties: { email: { type: 'string', format: 'email' } } },
        },
      },
    });
    expect(tools.serverUrl).toBe('https://eu.api.test/v1');
    expect(tools.operations).toEqual([
      {
        operationId: 'updatePet',
        method: 'PATCH',
        path: '/pets/{petId}',
        description: 'Change a pet',
        inputSchema: {
          type: 'object',
          properties: {
            petId: { type: 'string', 'x-runyard-in': 'path' },
            'X-Trace': { type: 'string', maxLength: 8, 'x-runyard-in': 'header' },
            dry: { type: 'boolean', description: 'Only check', 'x-runyard-in': 'query' },
            name: { type: 'string', 'x-runyard-in': 'body' },
            owner: {
              type: 'object',
              properties: { email: { type: 'string', format: 'email' } },
              'x-runyard-in': 'body',
            },
          },
          required: ['petId', 'X-Trace', 'name'],
          additionalProperties: false,
        },
      },
    ]);
  });

  it('sends a body that is not an object of fields as one property, and cuts recursion', () => {
    const tools = openApiTools({
      ...base,
      paths: {
        '/batch': {
          post: {
            operationId: 'batch',
            parameters: [{ name: 'body', in: 'query', schema: { type: 'string' } }],
            requestBody: {
              content: {
                'application/json': {
                  schema: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
                },
              },
            },
          },
        },
      },
      components: {
        schemas: {
          Node: { type: 'object', properties: { child: { $ref: '#/components/schemas/Node' } } },
        },
      },
    });
    expect(tools.serverUrl).toBeUndefined();
    const schema = tools.operations[0]?.inputSchema;
    expect(schema?.['x-runyard-body']).toBe('requestBody');
    expect(schema?.properties).toEqual({
      body: { type: 'string', 'x-runyard-in': 'query' },
      requestBody: {
        type: 'array',
        items: { type: 'object', properties: { child: {} } },
        'x-runyard-in': 'body',
      },
    });
    expect(schema?.required).toBeUndefined();
  });

  it('names what is wrong in a document that cannot work', () => {
    const get = (operation: Record<string, unknown>) => ({ ...base, paths: { '/x': { get: operation } } });
    expect(problemPath({ openapi: '2.0', paths: {} })).toBe('openapi.openapi');
    expect(problemPath({ ...base, paths: {} })).toBe('openapi.paths');
    expect(problemPath({ ...base, paths: { '/x': { trace: {} } } })).toBe('openapi.paths');
    expect(problemPath(get({}))).toBe('openapi.paths./x.get.operationId');
    expect(problemPath(get({ operationId: 'has space' }))).toBe('openapi.paths./x.get.operationId');
    expect(
      problemPath({ ...base, paths: { '/x': { get: { operationId: 'a' }, post: { operationId: 'a' } } } }),
    ).toBe('openapi.paths./x.post.operationId');
    expect(
      problemPath(get({ operationId: 'a', parameters: [{ $ref: '#/components/parameters/Gone' }] })),
    ).toBe('openapi.paths./x.get.parameters.0');
    expect(problemPath(get({ operationId: 'a', parameters: [{ $ref: 'other.yaml#/P' }] }))).toBe(
      'openapi.paths./x.get.parameters.0',
    );
    expect(
      problemPath(get({ operationId: 'a', parameters: [{ name: 's', in: 'cookie', required: true }] })),
    ).toBe('openapi.paths./x.get.parameters.s');
    expect(
      problemPath(
        get({
          operationId: 'a',
          requestBody: { required: true, content: { 'application/xml': { schema: {} } } },
        }),
      ),
    ).toBe('openapi.paths./x.get.requestBody.content');
    expect(problemPath({ ...base, paths: { x: { get: { operationId: 'a' } } } })).toBe('openapi.paths.x');
  });
});
