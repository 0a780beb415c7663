import { toolHttpMethods, type ToolHttpMethod } from '@runyard/protocol';
import { DefinitionProblem, placementKeyword, wholeBodyKeyword, type Placement } from './http-input.ts';

/** One operation of an OpenAPI document, as the input of one callable http tool. */
export interface OpenApiOperation {
  operationId: string;
  method: ToolHttpMethod;
  path: string;
  description: string;
  /** Parameters and body fields as properties, each with its `x-runyard-in`. */
  inputSchema: Record<string, unknown>;
}

export interface OpenApiTools {
  /** `servers[0].url` with its variables at their defaults; undefined when the document has none. */
  serverUrl: string | undefined;
  operations: OpenApiOperation[];
}

const operationIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
const headerNamePattern = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
/** Deeper than this, a schema (recursive ones included) is cut to `{}`: any value is accepted there. */
const maxSchemaDepth = 32;
const maxOperations = 500;
/** Inlining shared components can multiply a document: past this many schema nodes it is refused. */
const maxInlinedNodes = 100_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads an OpenAPI 3 document into operations: path, query and header parameters and the JSON
 * request body become the properties of one input object. Local `$ref`s are inlined; the document
 * is never fetched from anywhere. A document that cannot work throws DefinitionProblem (paths under
 * `openapi`).
 */
export function openApiTools(document: Record<string, unknown>): OpenApiTools {
  if (typeof document.openapi !== 'string' || !document.openapi.startsWith('3.')) {
    throw new DefinitionProblem('openapi.openapi', 'must be an OpenAPI 3 document ("openapi": "3.x.y")');
  }
  if (!isRecord(document.paths) || Object.keys(document.paths).length === 0) {
    throw new DefinitionProblem('openapi.paths', 'must hold at least one operation');
  }
  const resolver = new ReferenceResolver(document);
  const operations: OpenApiOperation[] = [];
  const seen = new Set<string>();
  for (const [path, rawItem] of Object.entries(document.paths)) {
    const itemPath = `openapi.paths.${path}`;
    if (!path.startsWith('/')) throw new DefinitionProblem(itemPath, 'must start with /');
    const item = resolver.object(rawItem, itemPath);
    for (const method of toolHttpMethods) {
      const raw = item[method.toLowerCase()];
      if (raw === undefined) continue;
      const where = `${itemPath}.${method.toLowerCase()}`;
      const operation = resolver.object(raw, where);
      const operationId = operation.operationId;
      if (typeof operationId !== 'string' || !operationIdPattern.test(operationId)) {
        throw new DefinitionProblem(
          `${where}.operationId`,
          'must be set to 1–64 characters of A-Z, a-z, 0-9, _ and - (it names the tool)',
        );
      }
      if (seen.has(operationId)) {
        throw new DefinitionProblem(`${where}.operationId`, `'${operationId}' is used by another operation`);
      }
      seen.add(operationId);
      operations.push({
        operationId,
        method,
        path,
        description: describe(operation, method, path),
        inputSchema: inputSchemaOf(resolver, item, operation, where),
      });
      if (operations.length > maxOperations) {
        throw new DefinitionProblem('openapi.paths', `must hold at most ${maxOperations} operations`);
      }
    }
  }
  if (operations.length === 0)
    throw new DefinitionProblem('openapi.paths', 'must hold at least one operation');
  return { serverUrl: serverUrlOf(document), operations };
}

function describe(operation: Record<string, unknown>, method: string, path: string): string {
  const parts = [operation.summary, operation.description].filter(
    (part): part is string => typeof part === 'string' && part.trim() !== '',
  );
  const text =
    parts.length > 0 ? [...new Set(parts.map((part) => part.trim()))].join('\n\n') : `${method} ${path}`;
  return text.slice(0, 4000);
}

function serverUrlOf(document: Record<string, unknown>): string | undefined {
  const first = Array.isArray(document.servers) ? (document.servers[0] as unknown) : undefined;
  if (!isRecord(first) || typeof first.url !== 'string') return undefined;
  const variables = isRecord(first.variables) ? first.variables : {};
  return first.url.replace(/\{([^{}]+)\}/g, (match, name: string) => {
    const variable = variables[name];
    return isRecord(variable) && typeof variable.default === 'string' ? variable.default : match;
  });
}

function inputSchemaOf(
  resolver: ReferenceResolver,
  item: Record<string, unknown>,
  operation: Record<string, unknown>,
  where: string,
): Record<string, unknown> {
  // Operation parameters override path-item parameters with the same name and location.
  const byKey = new Map<string, Record<string, unknown>>();
  const lists: [unknown, string][] = [
    [item.parameters, where.slice(0, where.lastIndexOf('.'))],
    [operation.parameters, where],
  ];
  for (const [list, at] of lists) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new DefinitionProblem(`${at}.parameters`, 'must be an array');
    list.forEach((raw, index) => {
      const parameter = resolver.object(raw, `${at}.parameters.${index}`);
      byKey.set(`${String(parameter.in)}:${String(parameter.name)}`, parameter);
    });
  }
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const parameter of byKey.values()) {
    const name = parameter.name;
    const location = parameter.in;
    const at = `${where}.parameters.${String(name)}`;
    if (typeof name !== 'string' || name === '') throw new DefinitionProblem(at, 'must have a name');
    if (location === 'cookie') {
      if (parameter.required === true) throw new DefinitionProblem(at, 'cookie parameters are not supported');
      continue;
    }
    if (location !== 'path' && location !== 'query' && location !== 'header') {
      throw new DefinitionProblem(`${at}.in`, 'must be path, query, header or cookie');
    }
    if (location === 'header' && !headerNamePattern.test(name)) {
      throw new DefinitionProblem(at, 'must be a valid header name');
    }
    if (name in properties) throw new DefinitionProblem(at, `clashes with another parameter named '${name}'`);
    const schema = isRecord(parameter.schema) ? resolver.inline(parameter.schema, `${at}.schema`) : {};
    properties[name] = {
      ...schema,
      ...(typeof parameter.description === 'string' && { description: parameter.description }),
      [placementKeyword]: location satisfies Placement,
    };
    if (location === 'path' || parameter.required === true) required.push(name);
  }
  const root: Record<string, unknown> = { type: 'object' };
  const body = requestBodyOf(resolver, operation.requestBody, `${where}.requestBody`);
  if (body !== undefined) {
    const fields = isRecord(body.schema.properties) ? body.schema.properties : undefined;
    const flat =
      body.schema.type === 'object' &&
      fields !== undefined &&
      Object.keys(fields).every((field) => !(field in properties));
    if (flat) {
      for (const [field, schema] of Object.entries(fields)) {
        properties[field] = { ...(isRecord(schema) ? schema : {}), [placementKeyword]: 'body' };
      }
      const requiredFields = Array.isArray(body.schema.required) ? body.schema.required : [];
      if (body.required)
        required.push(...requiredFields.filter((field): field is string => typeof field === 'string'));
    } else {
      // Not an object of fields (or one whose fields clash with parameters): the whole body is one property.
      const property = 'body' in properties ? 'requestBody' : 'body';
      properties[property] = { ...body.schema, [placementKeyword]: 'body' };
      root[wholeBodyKeyword] = property;
      if (body.required) required.push(property);
    }
  }
  root.properties = properties;
  if (required.length > 0) root.required = [...new Set(required)];
  root.additionalProperties = false;
  return root;
}

function requestBodyOf(
  resolver: ReferenceResolver,
  raw: unknown,
  where: string,
): { schema: Record<string, unknown>; required: boolean } | undefined {
  if (raw === undefined) return undefined;
  const requestBody = resolver.object(raw, where);
  const content = isRecord(requestBody.content) ? requestBody.content : {};
  const jsonType = Object.keys(content).find((type) => /^application\/(.+\+)?json\b/i.test(type));
  const required = requestBody.required === true;
  if (jsonType === undefined) {
    if (required) throw new DefinitionProblem(`${where}.content`, 'must offer application/json');
    return undefined;
  }
  const media = resolver.object(content[jsonType], `${where}.content.${jsonType}`);
  const schema = isRecord(media.schema)
    ? resolver.inline(media.schema, `${where}.content.${jsonType}.schema`)
    : {};
  return { schema, required };
}

/** Inlines local references (`#/components/...`); refuses any other. */
class ReferenceResolver {
  private inlinedNodes = 0;

  constructor(private readonly document: Record<string, unknown>) {}

  /** The object at `value`, following a `$ref` if it is one. */
  object(value: unknown, where: string, depth = 0): Record<string, unknown> {
    if (!isRecord(value)) throw new DefinitionProblem(where, 'must be an object');
    if (typeof value.$ref !== 'string') return value;
    if (depth > maxSchemaDepth) throw new DefinitionProblem(where, 'has a $ref chain that does not end');
    return this.object(this.target(value.$ref, where), where, depth + 1);
  }

  /** A schema with every `$ref` replaced by its target; recursion is cut at `maxSchemaDepth`. */
  inline(schema: unknown, where: string, depth = 0, chain: readonly string[] = []): Record<string, unknown> {
    if (!isRecord(schema)) return {};
    if (depth > maxSchemaDepth) return {};
    this.inlinedNodes += 1;
    if (this.inlinedNodes > maxInlinedNodes) {
      throw new DefinitionProblem(
        where,
        `expands to more than ${maxInlinedNodes} schema nodes once $refs are inlined`,
      );
    }
    if (typeof schema.$ref === 'string') {
      // A schema that refers to itself (a tree, a linked list) accepts anything below its first repeat.
      if (chain.includes(schema.$ref)) return {};
      const { $ref, ...siblings } = schema;
      const target = this.inline(this.target($ref, where), where, depth + 1, [...chain, $ref]);
      return { ...target, ...this.inline(siblings, where, depth + 1, chain) };
    }
    const result: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(schema)) {
      if (Array.isArray(value)) {
        result[key] = (value as unknown[]).map((item) =>
          isRecord(item) ? this.inline(item, where, depth + 1, chain) : item,
        );
      } else if (
        isRecord(value) &&
        key !== 'example' &&
        key !== 'examples' &&
        key !== 'const' &&
        key !== 'default'
      ) {
        result[key] = this.inline(value, where, depth + 1, chain);
      } else {
        result[key] = value;
      }
    }
    return result;
  }

  private target(reference: string, where: string): unknown {
    if (!reference.startsWith('#/')) {
      throw new DefinitionProblem(
        where,
        `refers to '${reference.slice(0, 200)}': only local #/… references are supported`,
      );
    }
    let value: unknown = this.document;
    for (const raw of reference.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
      value = isRecord(value) ? value[key] : undefined;
    }
    if (value === undefined)
      throw new DefinitionProblem(
        where,
        `refers to '${reference.slice(0, 200)}', which is not in the document`,
      );
    return value;
  }
}
