import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { secretReferenceSchema, timestampSchema } from '../common.ts';

/**
 * A registry tool's name. No dots: `<name>.<operationId>` names one operation of a tool built from
 * an OpenAPI document (and, later, one tool of an MCP server).
 */
export const toolNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 characters of A-Z, a-z, 0-9, _ and -');

/** What an agent lists and a model calls: `echo`, `shout`, `billing.createInvoice`. */
export const callableToolNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})?$/,
    'must be a tool name, or <tool>.<operation> (A-Z, a-z, 0-9, _ and -)',
  );

/** `builtin` tools are part of Runyard: listed, callable, never created, changed or deleted. */
export const toolKinds = ['http', 'agent', 'mcp', 'client', 'builtin'] as const;
export const toolKindSchema = z.enum(toolKinds);
export type ToolKind = z.infer<typeof toolKindSchema>;

/** The kinds a client registers. */
export const registrableToolKinds = ['http', 'agent', 'mcp', 'client'] as const;

export const toolHttpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export const toolHttpMethodSchema = z.enum(toolHttpMethods);
export type ToolHttpMethod = z.infer<typeof toolHttpMethodSchema>;

const parameterNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a header or query parameter name ([A-Za-z0-9_.-], 1–128)');
const httpUrlSchema = z.url({ protocol: /^https?$/ }).max(2048);

/**
 * How Runyard authenticates to the tool's API. Credentials are secret references, read only when a
 * call is made; neither the model nor any response, event or log ever holds them.
 */
export const toolAuthSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({
      type: z.literal('apiKey'),
      in: z.enum(['header', 'query']),
      name: parameterNameSchema,
      value: secretReferenceSchema,
      /** Sent before the value, e.g. `Token ` (header only). */
      prefix: z
        .string()
        .max(64)
        .regex(/^[^\r\n]*$/, 'must not contain line breaks')
        .optional(),
    }),
    z.strictObject({ type: z.literal('bearer'), token: secretReferenceSchema }),
    z.strictObject({
      type: z.literal('basic'),
      username: z
        .string()
        .min(1)
        .max(256)
        .regex(/^[^:\r\n]*$/, 'must not contain ":" or line breaks'),
      password: secretReferenceSchema,
    }),
    z.strictObject({
      type: z.literal('oauth2'),
      /** Client credentials grant: the token is cached until shortly before it expires. */
      tokenUrl: httpUrlSchema,
      clientId: z.string().min(1).max(512),
      clientSecret: secretReferenceSchema,
      scopes: z
        .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/, 'must be an OAuth2 scope'))
        .max(50),
      audience: z.string().min(1).max(512).optional(),
    }),
  ])
  .meta({ id: 'ToolAuth' });
export type ToolAuth = z.infer<typeof toolAuthSchema>;

const httpFields = {
  description: z.string().max(4000),
  baseUrl: httpUrlSchema.describe('Where paths are resolved; for an OpenAPI tool, overrides servers[0].url.'),
  method: toolHttpMethodSchema,
  path: z
    .string()
    .max(2048)
    .regex(/^\/[^\s#]*$/, 'must start with / and contain no spaces or #')
    .describe('Appended to baseUrl; {name} segments are filled from the input property of that name.'),
  inputSchema: z
    .record(z.string(), z.unknown())
    .describe(
      'JSON Schema (type object) of the input. http: each property goes to the path ({name}), or where ' +
        'its "x-runyard-in" says (path, query, header, body), or else to the query (GET, HEAD, DELETE, ' +
        'OPTIONS) or the JSON body (POST, PUT, PATCH). client: what the model is asked to send (required).',
    ),
  openapi: z
    .record(z.string(), z.unknown())
    .describe('An OpenAPI 3 document: one callable tool per operation, named <name>.<operationId>.'),
  auth: toolAuthSchema,
  timeoutMs: z.number().int().min(100).max(300_000).describe('Per attempt; 30000 by default.'),
  maxResponseBytes: z
    .number()
    .int()
    .min(256)
    .max(10_000_000)
    .describe(
      'A longer body is cut here, with a marker, before the model sees it (inside a run it is kept whole as a run artifact); 100000 by default.',
    ),
  maxRetries: z
    .number()
    .int()
    .min(0)
    .max(5)
    .describe('Retries of idempotent methods after a 5xx or a connection failure; 2 by default.'),
};

/** `kind: agent`: another agent of the workspace, called with `{input}` and run as a child run. */
const agentFields = {
  agent: z.string().min(1).max(128).describe('The id or slug of the agent to call (stored as its id).'),
  environment: z
    .enum(['draft', 'staging', 'production'])
    .describe('The version the child runs; by default production, or the newest while none is promoted.'),
};

/** A header or environment value: plain text, or a secret of the workspace read when it is used. */
const mcpValueSchema = z.union([z.string().max(8192), secretReferenceSchema]);

/** `kind: mcp`: an MCP server, over stdio (a pooled child process) or Streamable HTTP. */
const mcpFields = {
  transport: z
    .enum(['stdio', 'http'])
    .describe('stdio: a child process Runyard starts; http: a Streamable HTTP endpoint.'),
  command: z
    .string()
    .min(1)
    .max(1024)
    .describe('stdio: the program to start (one pooled process per workspace).'),
  args: z.array(z.string().max(4096)).max(100).describe('stdio: its arguments.'),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name'),
      mcpValueSchema,
    )
    .describe(
      'stdio: environment variables (values may be {secret}), added to a minimal PATH/HOME environment.',
    ),
  url: httpUrlSchema.describe('http: the Streamable HTTP endpoint of the MCP server.'),
  headers: z
    .record(
      z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'must be an HTTP header name'),
      mcpValueSchema,
    )
    .describe('http: headers sent with every request (values may be {secret}).'),
};

/**
 * `kind: http` is either one operation (`baseUrl`, `method`, `path`, `inputSchema`) or an OpenAPI
 * document (`openapi`). One flat object with the fields of every kind: the rules of each kind are
 * checked after the shape, so an unknown field is always reported by name.
 */
export const createToolSchema = z
  .strictObject({
    name: toolNameSchema,
    kind: z.enum(registrableToolKinds),
    description: httpFields.description.optional(),
    baseUrl: httpFields.baseUrl.optional(),
    method: httpFields.method.optional(),
    path: httpFields.path.optional(),
    inputSchema: httpFields.inputSchema.optional(),
    openapi: httpFields.openapi.optional(),
    auth: httpFields.auth.optional(),
    timeoutMs: httpFields.timeoutMs.optional(),
    maxResponseBytes: httpFields.maxResponseBytes.optional(),
    maxRetries: httpFields.maxRetries.optional(),
    agent: agentFields.agent.optional(),
    environment: agentFields.environment.optional(),
    transport: mcpFields.transport.optional(),
    command: mcpFields.command.optional(),
    args: mcpFields.args.optional(),
    env: mcpFields.env.optional(),
    url: mcpFields.url.optional(),
    headers: mcpFields.headers.optional(),
  })
  .meta({ id: 'CreateTool' });
export type CreateTool = z.infer<typeof createToolSchema>;

/** A change: given fields replace the current ones, `null` clears one back to its default. */
export const updateToolSchema = z
  .strictObject({
    description: httpFields.description.optional(),
    baseUrl: httpFields.baseUrl.nullable().optional(),
    method: httpFields.method.nullable().optional(),
    path: httpFields.path.nullable().optional(),
    inputSchema: httpFields.inputSchema.nullable().optional(),
    openapi: httpFields.openapi.nullable().optional(),
    auth: httpFields.auth.optional(),
    timeoutMs: httpFields.timeoutMs.nullable().optional(),
    maxResponseBytes: httpFields.maxResponseBytes.nullable().optional(),
    maxRetries: httpFields.maxRetries.nullable().optional(),
    agent: agentFields.agent.optional(),
    environment: agentFields.environment.nullable().optional(),
    transport: mcpFields.transport.optional(),
    command: mcpFields.command.nullable().optional(),
    args: mcpFields.args.nullable().optional(),
    env: mcpFields.env.nullable().optional(),
    url: mcpFields.url.nullable().optional(),
    headers: mcpFields.headers.nullable().optional(),
  })
  .meta({ id: 'UpdateTool' });
export type UpdateTool = z.infer<typeof updateToolSchema>;

/** What a version freezes, every default filled in. One operation: `openapi` null; OpenAPI: `method`, `path`, `inputSchema` null. */
export const httpToolConfigSchema = z
  .object({
    kind: z.literal('http'),
    description: z.string(),
    baseUrl: z.string().nullable(),
    method: toolHttpMethodSchema.nullable(),
    path: z.string().nullable(),
    inputSchema: z.record(z.string(), z.unknown()).nullable(),
    openapi: z.record(z.string(), z.unknown()).nullable(),
    auth: toolAuthSchema,
    timeoutMs: z.number().int(),
    maxResponseBytes: z.number().int(),
    maxRetries: z.number().int(),
  })
  .meta({ id: 'HttpToolConfig' });
export type HttpToolConfig = z.infer<typeof httpToolConfigSchema>;

/** An agent as a tool: `agent` is the agent's id; `environment` null runs production, else the newest. */
export const agentToolConfigSchema = z
  .object({
    kind: z.literal('agent'),
    description: z.string(),
    agent: idSchema('agent'),
    environment: agentFields.environment.nullable(),
  })
  .meta({ id: 'AgentToolConfig' });
export type AgentToolConfig = z.infer<typeof agentToolConfigSchema>;

/**
 * An MCP server; its tools are discovered (tools/list) and called as `<name>.<mcpTool>`.
 * stdio: `url` null, `headers` {}; http: `command` null, `args` [], `env` {}.
 */
export const mcpToolConfigSchema = z
  .object({
    kind: z.literal('mcp'),
    description: z.string(),
    transport: z.enum(['stdio', 'http']),
    command: z.string().nullable(),
    args: z.array(z.string()),
    env: z.record(z.string(), mcpValueSchema),
    url: z.string().nullable(),
    headers: z.record(z.string(), mcpValueSchema),
    timeoutMs: z.number().int(),
  })
  .meta({ id: 'McpToolConfig' });
export type McpToolConfig = z.infer<typeof mcpToolConfigSchema>;

/**
 * Executed by the caller: a call pauses the run in requires_action until its output is sent
 * (`POST /v1/runs/{id}/tool-outputs`). One operation, named as the tool, taking `inputSchema`.
 */
export const clientToolConfigSchema = z
  .object({
    kind: z.literal('client'),
    description: z.string(),
    inputSchema: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'ClientToolConfig' });
export type ClientToolConfig = z.infer<typeof clientToolConfigSchema>;

export const toolConfigSchema = z.discriminatedUnion('kind', [
  httpToolConfigSchema,
  agentToolConfigSchema,
  mcpToolConfigSchema,
  clientToolConfigSchema,
]);
export type ToolConfig = z.infer<typeof toolConfigSchema>;

/** One tool a model can call: the tool itself, or one operation of an OpenAPI tool. */
export const toolOperationSchema = z
  .object({
    name: z.string().describe('What agents list and models call, e.g. billing.createInvoice.'),
    description: z.string(),
    inputSchema: z.record(z.string(), z.unknown()).describe('What the model is shown.'),
    method: z.string().optional(),
    path: z.string().optional(),
  })
  .meta({ id: 'ToolOperation' });
export type ToolOperation = z.infer<typeof toolOperationSchema>;

export const toolSchema = z
  .object({
    id: idSchema('tool').nullable().describe('null for built-in tools.'),
    name: z.string(),
    kind: toolKindSchema,
    builtIn: z.boolean(),
    description: z.string(),
    version: z.number().int().positive().nullable().describe('The newest version; null for built-in tools.'),
    config: toolConfigSchema.nullable().describe('The definition of the newest version; null for built-ins.'),
    operations: z.array(toolOperationSchema),
    discoveredAt: timestampSchema
      .nullable()
      .optional()
      .describe('mcp: when the operations were last listed from the server (tools/list, refresh).'),
    createdAt: timestampSchema.nullable(),
    updatedAt: timestampSchema.nullable(),
  })
  .meta({ id: 'Tool' });
export type Tool = z.infer<typeof toolSchema>;

export const toolVersionSchema = z
  .object({
    toolId: idSchema('tool'),
    version: z.number().int().positive(),
    contentHash: z.string(),
    config: toolConfigSchema,
    createdAt: timestampSchema,
  })
  .meta({ id: 'ToolVersion' });
export type ToolVersion = z.infer<typeof toolVersionSchema>;

export const toolVersionListSchema = z.object({ data: z.array(toolVersionSchema) });

export const invokeToolSchema = z
  .strictObject({
    input: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("Checked against the tool's inputSchema, as a model's call is."),
    policies: z
      .array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a policy name'))
      .max(32)
      .default([])
      .describe('The egress policies the call runs under, as an agent binds them; none: network is denied.'),
  })
  .meta({ id: 'InvokeTool' });
export type InvokeTool = z.infer<typeof invokeToolSchema>;

export const invokeToolResultSchema = z
  .object({
    tool: z.string(),
    output: z
      .unknown()
      .describe('What a model would receive; for http tools {status, headers, body}, any status.'),
    durationMs: z.number(),
  })
  .meta({ id: 'InvokeToolResult' });
export type InvokeToolResult = z.infer<typeof invokeToolResultSchema>;
