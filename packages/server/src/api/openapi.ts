import { z } from 'zod';
import {
  acceptedScopes,
  describeScopes,
  errorBodySchema,
  routes,
  type RouteDefinition,
} from '@runyard/protocol';

type JsonSchema = Record<string, unknown>;

/**
 * Builds the OpenAPI 3.1 document from the route catalogue in `@runyard/protocol`: the same zod
 * schemas validate requests, so the document cannot describe an API other than the one served.
 */
export function buildOpenApiDocument(serverUrl?: string): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const {
      $schema: _schema,
      $defs,
      ...rest
    } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    for (const [name, definition] of Object.entries($defs ?? {})) components[name] ??= relink(definition);
    return relink(rest);
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of Object.values(routes) as RouteDefinition[]) {
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters: [
        ...parameters(route.params, 'path', convert),
        ...parameters(route.query, 'query', convert),
      ],
      responses: responses(route, convert),
      ...(route.scope === null
        ? { security: [] }
        : {
            'x-required-scope': acceptedScopes(route.scope)[0],
            ...(typeof route.scope !== 'string' && { 'x-accepted-scopes': route.scope }),
          }),
    };
    if (route.body !== undefined) {
      operation.requestBody = {
        required: !route.body.safeParse(undefined).success,
        content: { 'application/json': { schema: convert(route.body, 'input') } },
      };
    }
    if (route.method === 'POST') {
      (operation.parameters as unknown[]).push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'Replays the stored response for a repeated request with the same key and body.',
        schema: { type: 'string', maxLength: 255 },
      });
    }
    if (route.conditional === true) {
      (operation.parameters as unknown[]).push({
        name: 'If-Match',
        in: 'header',
        required: false,
        description: 'The ETag last read; a stale value answers 412.',
        schema: { type: 'string' },
      });
    }
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  Object.assign(paths, systemPaths());

  components.Error = convert(errorBodySchema, 'output');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Runyard API',
      version: '1.0.0',
      description:
        'The self-hostable runtime for AI agents. Every error has the shape {error: {code, message, details}}.',
    },
    ...(serverUrl === undefined ? {} : { servers: [{ url: serverUrl }] }),
    security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
    },
  };
}

function parameters(
  schema: z.ZodType | undefined,
  location: 'path' | 'query',
  convert: (schema: z.ZodType, io: 'input' | 'output') => JsonSchema,
): unknown[] {
  if (schema === undefined) return [];
  const json = convert(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  const output = convert(schema, 'output') as { properties?: Record<string, JsonSchema> };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: Object.keys(property).length === 0 ? (output.properties?.[name] ?? {}) : property,
  }));
}

function responses(
  route: RouteDefinition,
  convert: (schema: z.ZodType, io: 'input' | 'output') => JsonSchema,
): Record<string, unknown> {
  const errorResponse = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  const result: Record<string, unknown> = {};
  for (const status of [route.status, ...(route.alternativeStatuses ?? [])]) {
    result[String(status)] =
      route.response === null
        ? { description: 'No content' }
        : route.binary === true
          ? {
              description: 'The stored bytes, with their own Content-Type',
              content: {
                '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
              },
            }
          : {
              description: 'Success',
              content: { 'application/json': { schema: convert(route.response, 'output') } },
            };
  }
  result['400'] = errorResponse('The request is invalid; details.issues names the fields');
  if (route.scope !== null) {
    result['401'] = errorResponse('No valid API key');
    result['403'] = errorResponse(`The key lacks the ${describeScopes(route.scope)} scope`);
    result['429'] = errorResponse('Rate limited; see Retry-After');
  }
  if (route.params !== undefined) result['404'] = errorResponse('Not found in this workspace');
  if (route.conditional === true) result['412'] = errorResponse('If-Match does not match the current ETag');
  result.default = errorResponse('An error; see the error catalogue');
  return result;
}

function systemPaths(): Record<string, Record<string, unknown>> {
  const plain = (operationId: string, summary: string) => ({
    get: {
      operationId,
      summary,
      tags: ['System'],
      security: [],
      responses: {
        '200': {
          description: 'OK',
          content: {
            'application/json': { schema: { type: 'object', properties: { status: { type: 'string' } } } },
          },
        },
        '503': {
          description: 'Not ready',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  });
  return {
    '/healthz': plain('health', 'The process is up'),
    '/readyz': plain('readiness', 'The process can serve: the database answers'),
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This OpenAPI 3.1 document',
        tags: ['System'],
        security: [],
        responses: {
          '200': {
            description: 'The document',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
  };
}

/** Rewrites the converter's local `#/$defs/X` references to shared components. */
function relink<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as T;
}
