import type { ToolHttpMethod } from '@runyard/protocol';
import { ToolError } from './tool-error.ts';

/**
 * Where each input property of an http tool goes. The rule, in order:
 * 1. a property named in a `{name}` segment of the path fills that segment;
 * 2. a property with `"x-runyard-in": "path" | "query" | "header" | "body"` goes there;
 * 3. any other property goes to the query for GET, HEAD, DELETE and OPTIONS, and to the JSON body
 *    for POST, PUT and PATCH.
 * `"x-runyard-body": "<property>"` at the schema's root sends that property's value as the whole
 * JSON body (an array, or an object with fields that clash with parameters).
 */
export type Placement = 'path' | 'query' | 'header' | 'body';

export const placementKeyword = 'x-runyard-in';
export const wholeBodyKeyword = 'x-runyard-body';
const placements: readonly Placement[] = ['path', 'query', 'header', 'body'];
const headerNamePattern = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const bodylessByDefault: readonly ToolHttpMethod[] = ['GET', 'HEAD', 'DELETE', 'OPTIONS'];

export interface InputPlan {
  method: ToolHttpMethod;
  /** The path template, e.g. `/users/{id}/notes?format=json`. */
  path: string;
  placements: ReadonlyMap<string, Placement>;
  /** Where properties the schema does not declare go. */
  otherwise: 'query' | 'body';
  /** The property whose value is the whole JSON body, if any. */
  wholeBody: string | undefined;
  /** The input schema as the model sees it: without Runyard's keywords. */
  modelSchema: Record<string, unknown>;
}

/** A definition that cannot work, with the dotted path of the offending field. */
export class DefinitionProblem extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'DefinitionProblem';
  }
}

/** The `{name}` segments of a path template, in order. */
export function templateParameters(path: string): string[] {
  const pathOnly = path.split('?')[0] ?? '';
  return [...pathOnly.matchAll(/\{([^{}/]+)\}/g)].map((match) => match[1] ?? '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the placement of every property; throws DefinitionProblem (paths under `inputSchema`) when it cannot work. */
export function planInput(
  method: ToolHttpMethod,
  path: string,
  inputSchema: Record<string, unknown>,
): InputPlan {
  if (inputSchema.type !== 'object') {
    throw new DefinitionProblem('inputSchema.type', 'must be "object": a tool takes named arguments');
  }
  const properties = isRecord(inputSchema.properties) ? inputSchema.properties : {};
  const template = new Set(templateParameters(path));
  const planned = new Map<string, Placement>();
  const otherwise = bodylessByDefault.includes(method) ? 'query' : 'body';
  for (const name of template) {
    if (!(name in properties)) {
      throw new DefinitionProblem(
        'inputSchema.properties',
        `must declare the path parameter '${name}' (the path has {${name}})`,
      );
    }
  }
  const modelProperties: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(properties)) {
    const declared = isRecord(schema) ? schema[placementKeyword] : undefined;
    if (declared !== undefined && !placements.includes(declared as Placement)) {
      throw new DefinitionProblem(
        `inputSchema.properties.${name}.${placementKeyword}`,
        `must be one of ${placements.join(', ')}`,
      );
    }
    if (template.has(name) && declared !== undefined && declared !== 'path') {
      throw new DefinitionProblem(
        `inputSchema.properties.${name}.${placementKeyword}`,
        `must be "path": the path has {${name}}`,
      );
    }
    if (declared === 'path' && !template.has(name)) {
      throw new DefinitionProblem(
        `inputSchema.properties.${name}.${placementKeyword}`,
        `is "path" but the path has no {${name}}`,
      );
    }
    const placement = template.has(name) ? 'path' : ((declared as Placement | undefined) ?? otherwise);
    if (placement === 'header' && !headerNamePattern.test(name)) {
      throw new DefinitionProblem(
        `inputSchema.properties.${name}`,
        'must be a valid header name to go to a header',
      );
    }
    planned.set(name, placement);
    if (isRecord(schema)) {
      const { [placementKeyword]: _placement, ...rest } = schema;
      modelProperties[name] = rest;
    } else {
      modelProperties[name] = schema;
    }
  }
  const wholeBody = inputSchema[wholeBodyKeyword];
  if (wholeBody !== undefined) {
    if (typeof wholeBody !== 'string' || planned.get(wholeBody) !== 'body') {
      throw new DefinitionProblem(
        `inputSchema.${wholeBodyKeyword}`,
        'must name a property that goes to the body',
      );
    }
    const others = [...planned].filter(([name, where]) => where === 'body' && name !== wholeBody);
    if (others.length > 0) {
      throw new DefinitionProblem(
        `inputSchema.${wholeBodyKeyword}`,
        `cannot be used with other body properties (${others.map(([name]) => name).join(', ')})`,
      );
    }
  }
  const { [wholeBodyKeyword]: _wholeBody, ...modelSchema } = inputSchema;
  if (isRecord(inputSchema.properties)) modelSchema.properties = modelProperties;
  return {
    method,
    path,
    placements: planned,
    otherwise,
    wholeBody: typeof wholeBody === 'string' ? wholeBody : undefined,
    modelSchema,
  };
}

export interface PlacedInput {
  url: URL;
  headers: Record<string, string>;
  /** JSON text, when the input has anything for the body. */
  body: string | undefined;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Builds the request from validated input: fills the path, adds the query, headers and body. */
export function placeInput(plan: InputPlan, baseUrl: string, input: Record<string, unknown>): PlacedInput {
  const [pathTemplate = '', fixedQuery] = plan.path.split(/\?(.*)/s, 2);
  const filled = pathTemplate.replace(/\{([^{}/]+)\}/g, (_match, name: string) => {
    const value = input[name];
    if (value === undefined || value === null) {
      throw new ToolError('invalid-input', `the path parameter '${name}' is missing`);
    }
    return encodeURIComponent(asText(value));
  });
  const base = new URL(baseUrl);
  const url = new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}${filled}`);
  url.search = base.search;
  for (const [name, value] of new URLSearchParams(fixedQuery ?? '')) url.searchParams.append(name, value);

  const headers: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const where = plan.placements.get(name) ?? plan.otherwise;
    switch (where) {
      case 'path':
        break;
      case 'query':
        if (value === null) break;
        for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
          url.searchParams.append(name, asText(item));
        }
        break;
      case 'header': {
        const text = asText(value);
        if (/[\r\n\0]/.test(text)) {
          throw new ToolError('invalid-input', `the header '${name}' must not contain line breaks`);
        }
        headers[name.toLowerCase()] = text;
        break;
      }
      case 'body':
        body[name] = value;
        break;
    }
  }
  let bodyText: string | undefined;
  if (plan.wholeBody !== undefined) {
    const whole = input[plan.wholeBody];
    bodyText = whole === undefined ? undefined : JSON.stringify(whole);
  } else if (Object.keys(body).length > 0) {
    bodyText = JSON.stringify(body);
  }
  if (bodyText !== undefined) headers['content-type'] = 'application/json';
  return { url, headers, body: bodyText };
}
