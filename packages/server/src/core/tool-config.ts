import { Ajv2020 } from 'ajv/dist/2020.js';
import type {
  ClientToolConfig,
  CreateTool,
  HttpToolConfig,
  ToolAuth,
  ToolConfig,
  ToolOperation,
  UpdateTool,
} from '@runyard/protocol';
import { DefinitionProblem, templateParameters } from '../engine/tools/http-input.ts';
import { httpOperations } from '../engine/tools/http-operations.ts';
import {
  defaultMaxResponseBytes,
  defaultMaxRetries,
  defaultTimeoutMs,
  type HttpOperation,
} from '../engine/tools/http-tool.ts';
import { invalidField } from '../shared/errors.ts';
import { agentToolOperations } from './agent-tool-config.ts';
import { canonicalJson, sha256Hex } from './crypto.ts';

/** The definition fields of a tool, as create and update send them (null: back to the default). */
type DefinitionFields = Omit<CreateTool, 'name' | 'kind'>;

const schemaChecker = new Ajv2020({ strict: false, validateSchema: true, logger: false });

/**
 * The definition with every default filled in: what a version freezes. Throws a 400 naming the
 * field when the definition cannot work (a missing baseUrl, an undeclared path parameter, an
 * OpenAPI operation without an operationId, an input schema that does not compile).
 */
export function normalizeToolConfig(toolName: string, fields: DefinitionFields): ToolConfig {
  const common = {
    kind: 'http' as const,
    description: fields.description ?? '',
    auth: fields.auth ?? { type: 'none' as const },
    timeoutMs: fields.timeoutMs ?? defaultTimeoutMs,
    maxResponseBytes: fields.maxResponseBytes ?? defaultMaxResponseBytes,
    maxRetries: fields.maxRetries ?? defaultMaxRetries,
  };
  if (fields.baseUrl !== undefined) checkBaseUrl(fields.baseUrl);
  let config: HttpToolConfig;
  if (fields.openapi !== undefined) {
    for (const field of ['method', 'path', 'inputSchema'] as const) {
      if (fields[field] !== undefined) {
        throw invalidField(field, 'must not be set with openapi: each operation of the document has its own');
      }
    }
    config = {
      ...common,
      baseUrl: fields.baseUrl ?? null,
      method: null,
      path: null,
      inputSchema: null,
      openapi: fields.openapi,
    };
  } else {
    if (fields.baseUrl === undefined) {
      throw invalidField('baseUrl', 'is required for an http tool without openapi');
    }
    const path = fields.path ?? '/';
    config = {
      ...common,
      baseUrl: fields.baseUrl,
      method: fields.method ?? 'GET',
      path,
      inputSchema: fields.inputSchema ?? defaultInputSchema(path),
      openapi: null,
    };
  }
  if (config.inputSchema !== null) checkSchema('inputSchema', config.inputSchema);
  for (const operation of operationsOrThrow(toolName, config)) {
    checkSchema(config.openapi === null ? 'inputSchema' : 'openapi', operation.plan.modelSchema);
  }
  return config;
}

/** The only fields a client tool has; any other field of the flat create schema is a 400 by name. */
const clientToolFields = new Set(['description', 'inputSchema']);

/**
 * A client tool's definition: what the model is shown. Runyard never executes it, so it has no
 * endpoint, credentials or limits; `inputSchema` is required and must be a usable JSON Schema of
 * an object (a model's arguments are always one).
 */
export function normalizeClientToolConfig(fields: DefinitionFields): ClientToolConfig {
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null && !clientToolFields.has(field)) {
      throw invalidField(field, 'is not a field of a client tool (description, inputSchema)');
    }
  }
  const { inputSchema } = fields;
  if (inputSchema === undefined || inputSchema === null) {
    throw invalidField('inputSchema', 'is required for a client tool: the JSON Schema of its input');
  }
  if (inputSchema.type !== 'object') {
    throw invalidField('inputSchema', 'must be the JSON Schema of an object ("type": "object")');
  }
  checkSchema('inputSchema', inputSchema);
  return { kind: 'client', description: fields.description ?? '', inputSchema };
}

/** PATCH semantics over a client tool (`inputSchema: null` is refused: it has no default). */
export function mergeClientToolChange(current: ClientToolConfig, change: UpdateTool): DefinitionFields {
  const fields: Record<string, unknown> = {
    description: current.description,
    inputSchema: current.inputSchema,
  };
  for (const [key, value] of Object.entries(change)) if (value !== undefined) fields[key] = value;
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
}

/** PATCH semantics over the current definition; setting `openapi` replaces a single operation and vice versa. */
export function mergeToolChange(current: HttpToolConfig, change: UpdateTool): DefinitionFields {
  const fields: Record<string, unknown> = {
    description: current.description,
    baseUrl: current.baseUrl,
    method: current.method,
    path: current.path,
    inputSchema: current.inputSchema,
    openapi: current.openapi,
    auth: current.auth,
    timeoutMs: current.timeoutMs,
    maxResponseBytes: current.maxResponseBytes,
    maxRetries: current.maxRetries,
  };
  const switchesToOpenApi = change.openapi !== undefined && change.openapi !== null;
  const switchesToOperation = (['method', 'path', 'inputSchema'] as const).some(
    (field) => change[field] !== undefined && change[field] !== null,
  );
  if (switchesToOpenApi) Object.assign(fields, { method: null, path: null, inputSchema: null });
  if (switchesToOperation && change.openapi === undefined) fields.openapi = null;
  for (const [key, value] of Object.entries(change)) if (value !== undefined) fields[key] = value;
  // null means "the default": normalizeToolConfig fills in what is absent.
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
}

export function toolContentHash(config: ToolConfig): string {
  return `sha256:${sha256Hex(canonicalJson(config))}`;
}

/** Every secret the definition references, with the field that names it. */
export function secretReferencesOf(auth: ToolAuth): { field: string; secret: string }[] {
  switch (auth.type) {
    case 'none':
      return [];
    case 'apiKey':
      return [{ field: 'auth.value.secret', secret: auth.value.secret }];
    case 'bearer':
      return [{ field: 'auth.token.secret', secret: auth.token.secret }];
    case 'basic':
      return [{ field: 'auth.password.secret', secret: auth.password.secret }];
    case 'oauth2':
      return [{ field: 'auth.clientSecret.secret', secret: auth.clientSecret.secret }];
  }
}

/** The operations of a stored definition as the API shows them; [] if it no longer parses. */
export function operationViews(toolName: string, config: ToolConfig): ToolOperation[] {
  if (config.kind === 'agent') return agentToolOperations(toolName, config);
  if (config.kind === 'client') {
    return [{ name: toolName, description: config.description, inputSchema: config.inputSchema }];
  }
  // An mcp tool's operations are what its server listed: `mcpOperationViews` of the record.
  if (config.kind === 'mcp') return [];
  let operations: HttpOperation[];
  try {
    operations = httpOperations(toolName, config);
  } catch {
    return [];
  }
  return operations.map((operation) => ({
    name: operation.name,
    description: operation.description,
    inputSchema: operation.plan.modelSchema,
    method: operation.plan.method,
    path: operation.plan.path,
  }));
}

function operationsOrThrow(toolName: string, config: HttpToolConfig): HttpOperation[] {
  try {
    return httpOperations(toolName, config);
  } catch (error) {
    if (error instanceof DefinitionProblem) throw invalidField(error.path, error.message);
    throw error;
  }
}

/** One string property per `{name}` of the path, all required. */
function defaultInputSchema(path: string): Record<string, unknown> {
  const names = templateParameters(path);
  return {
    type: 'object',
    properties: Object.fromEntries(names.map((name) => [name, { type: 'string' }])),
    ...(names.length > 0 && { required: names }),
  };
}

function checkBaseUrl(baseUrl: string): void {
  const url = new URL(baseUrl);
  if (url.username !== '' || url.password !== '') {
    throw invalidField('baseUrl', 'must not hold credentials: use auth {type: "basic"} with a secret');
  }
  if (url.hash !== '') throw invalidField('baseUrl', 'must not have a #fragment');
}

function checkSchema(field: string, schema: Record<string, unknown>): void {
  let valid: boolean;
  try {
    valid = schemaChecker.validateSchema(schema) as boolean;
  } catch (error) {
    throw invalidField(field, `is not a valid JSON Schema: ${(error as Error).message}`);
  }
  if (!valid) {
    const first = schemaChecker.errors?.[0];
    const where =
      first?.instancePath === undefined || first.instancePath === '' ? '' : ` at ${first.instancePath}`;
    throw invalidField(field, `is not a valid JSON Schema${where}: ${first?.message ?? 'invalid'}`);
  }
  try {
    schemaChecker.compile(schema);
  } catch (error) {
    throw invalidField(field, `is not a usable JSON Schema: ${(error as Error).message}`);
  } finally {
    // Ajv keeps every compiled schema: a check must not grow the process.
    schemaChecker.removeSchema(schema);
  }
}
