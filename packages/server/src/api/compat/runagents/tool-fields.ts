import { z } from 'zod';
import type { CreateTool, PolicyRule, Tool, ToolAuth } from '@runyard/protocol';
import { invalidField } from '../../../shared/errors.ts';
import { badRequest } from './errors.ts';
import { renamed, type FieldRename } from './field-names.ts';

/** runagents tool names: DNS labels; at most 57 characters so `access-<name>` is a policy name. */
export const runagentsToolNameSchema = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,55}[a-z0-9])?$/, 'must be 1–57 characters of a-z, 0-9 and - (a DNS label)');

export const accessModes = ['Open', 'Restricted', 'Critical'] as const;
export type AccessMode = (typeof accessModes)[number];

const secretNameSchema = z.string().min(1).max(128);

const authenticationSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('None') }),
  z.strictObject({
    type: z.literal('APIKey'),
    /** Where the key goes: a header (default `X-API-Key`) or a query parameter. */
    in: z.enum(['header', 'query']).default('header'),
    name: z.string().min(1).max(128).default('X-API-Key'),
    prefix: z.string().max(64).optional(),
    /** The Runyard secret holding the key (`POST /v1/secrets`): credentials stay server-side. */
    secretRef: secretNameSchema,
  }),
  z.strictObject({
    type: z.literal('OAuth2'),
    tokenUrl: z.url({ protocol: /^https?$/ }).max(2048),
    clientId: z.string().min(1).max(512),
    clientSecretRef: secretNameSchema,
    scopes: z.array(z.string().min(1).max(256)).max(50).default([]),
  }),
]);

const schemeSchema = z.enum(['HTTP', 'HTTPS', 'http', 'https']);

/** `POST /api/tools`: runagents' resource shape, plus the call's method, path and input schema. */
export const toolBodySchema = z.strictObject({
  name: runagentsToolNameSchema,
  namespace: z.string().max(200).optional(),
  description: z.string().max(4000).optional(),
  spec: z.strictObject({
    description: z.string().max(4000).optional(),
    connection: z.strictObject({
      baseUrl: z.string().min(1).max(2048),
      port: z.number().int().min(1).max(65_535).optional(),
      scheme: schemeSchema.optional(),
      authentication: authenticationSchema.default({ type: 'None' }),
      /** Runyard: the call the model makes (POST / by default, its input as the JSON body). */
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
      path: z.string().max(2048).default('/'),
    }),
    accessMode: z.enum(accessModes).default('Open'),
    inputSchema: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ToolBody = z.infer<typeof toolBodySchema>;

/** `tools_to_create[]` of a deploy: the flat form, without credentials (auth_type None only). */
export const deployToolSchema = z.strictObject({
  name: runagentsToolNameSchema,
  base_url: z.string().min(1).max(2048),
  description: z.string().max(4000).optional(),
  auth_type: z.enum(['None', 'APIKey', 'OAuth2']).default('None'),
  port: z.number().int().min(1).max(65_535).optional(),
  scheme: schemeSchema.optional(),
});
export type DeployTool = z.infer<typeof deployToolSchema>;

/** A deploy's tool in the resource shape; credentials cannot be given inline, so only `None`. */
export function fromDeployTool(tool: DeployTool, index: number): ToolBody {
  if (tool.auth_type !== 'None') {
    throw badRequest(
      `tools_to_create.${index}.auth_type: ${tool.auth_type} needs a credential, which a deploy cannot carry; register '${tool.name}' with POST /api/tools (spec.connection.authentication with a secretRef) and list it in required_tools`,
    );
  }
  return {
    name: tool.name,
    ...(tool.description !== undefined && { description: tool.description }),
    spec: {
      connection: {
        baseUrl: tool.base_url,
        ...(tool.port !== undefined && { port: tool.port }),
        ...(tool.scheme !== undefined && { scheme: tool.scheme }),
        authentication: { type: 'None' },
        method: 'POST',
        path: '/',
      },
      accessMode: 'Open',
    },
  };
}

/** The base URL with its scheme and port applied: `api.example.com` + HTTPS + 8443. */
export function resolvedBaseUrl(connection: ToolBody['spec']['connection'], field: string): URL {
  const scheme = connection.scheme?.toLowerCase();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(connection.baseUrl);
  let url: URL;
  try {
    url = new URL(hasScheme ? connection.baseUrl : `${scheme ?? 'https'}://${connection.baseUrl}`);
  } catch {
    throw invalidField(field, 'must be a URL or a host name');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidField(field, 'must be http or https');
  if (scheme !== undefined && hasScheme && url.protocol !== `${scheme}:`) {
    throw invalidField(field, `its scheme (${url.protocol.slice(0, -1)}) differs from scheme (${scheme})`);
  }
  if (connection.port !== undefined) url.port = String(connection.port);
  url.search = '';
  url.hash = '';
  return url;
}

function authOf(authentication: ToolBody['spec']['connection']['authentication']): ToolAuth {
  switch (authentication.type) {
    case 'None':
      return { type: 'none' };
    case 'APIKey':
      return {
        type: 'apiKey',
        in: authentication.in,
        name: authentication.name,
        value: { secret: authentication.secretRef },
        ...(authentication.prefix !== undefined && { prefix: authentication.prefix }),
      };
    case 'OAuth2':
      return {
        type: 'oauth2',
        tokenUrl: authentication.tokenUrl,
        clientId: authentication.clientId,
        clientSecret: { secret: authentication.clientSecretRef },
        scopes: authentication.scopes,
      };
  }
}

/** The Runyard http tool's fields (and the checks above) in the terms of `POST /api/tools`. */
export const toolBodyRenames: readonly FieldRename[] = [
  renamed('auth.value.secret', 'spec.connection.authentication.secretRef'),
  renamed('auth.value', 'spec.connection.authentication.secretRef'),
  renamed('auth.clientSecret.secret', 'spec.connection.authentication.clientSecretRef'),
  renamed('auth.clientSecret', 'spec.connection.authentication.clientSecretRef'),
  renamed('auth', 'spec.connection.authentication'),
  renamed('baseUrl', 'spec.connection.baseUrl'),
  renamed('method', 'spec.connection.method'),
  renamed('path', 'spec.connection.path'),
  renamed('inputSchema', 'spec.inputSchema'),
  renamed('description', 'spec.description'),
];

/** The same for the tool at `tools_to_create[index]` of a deploy (flat fields). */
export function deployToolRenames(index: number): FieldRename[] {
  const at = `tools_to_create.${index}`;
  return [
    renamed('spec.connection.baseUrl', `${at}.base_url`),
    renamed('baseUrl', `${at}.base_url`),
    renamed('spec.description', `${at}.description`),
    renamed('description', `${at}.description`),
    renamed('name', `${at}.name`),
    renamed('auth', `${at}.auth_type`),
  ];
}

/** The Runyard http tool of a runagents tool. */
export function toCreateTool(body: ToolBody): CreateTool {
  const { connection } = body.spec;
  const path = connection.path.startsWith('/') ? connection.path : `/${connection.path}`;
  return {
    name: body.name,
    kind: 'http',
    description: body.spec.description ?? body.description ?? '',
    baseUrl: resolvedBaseUrl(connection, 'spec.connection.baseUrl').toString().replace(/\/+$/, ''),
    method: connection.method,
    path,
    inputSchema: body.spec.inputSchema ?? {
      type: 'object',
      description: 'Sent to the tool as the JSON body (GET, DELETE: as query parameters).',
      additionalProperties: true,
    },
    auth: authOf(connection.authentication),
  };
}

/** The policy that carries a tool's access mode (bound to every agent that requires the tool). */
export function accessPolicyName(toolName: string): string {
  return `access-${toolName}`;
}

/**
 * Access mode → rules over the tool's host: Open allows it, Critical allows it after approval (deny
 * still wins, and an allow elsewhere does not lift the approval), Restricted has no rule,
 * so only an explicit allow policy bound to the agent lets a call through (unmatched → deny).
 */
export function accessRules(mode: AccessMode, baseUrl: string): PolicyRule[] {
  const resource = `${new URL(baseUrl).origin}/**`;
  switch (mode) {
    case 'Open':
      return [{ effect: 'allow', resource, operations: ['*'] }];
    case 'Critical':
      // The allow rule lets an approved call through (and names the host for the SSRF guard).
      return [
        { effect: 'approval_required', resource, operations: ['*'] },
        { effect: 'allow', resource, operations: ['*'] },
      ];
    case 'Restricted':
      return [];
  }
}

/** The access mode a tool's access policy says; no policy reads as Restricted (unmatched → deny). */
export function accessModeOf(rules: readonly PolicyRule[] | undefined): AccessMode {
  if (rules === undefined) return 'Restricted';
  if (rules.some((rule) => rule.effect === 'approval_required')) return 'Critical';
  if (rules.some((rule) => rule.effect === 'allow')) return 'Open';
  return 'Restricted';
}

/** A tool as runagents lists it; credentials appear as the names of their secrets only. */
export function toRunagentsTool(tool: Tool, namespace: string, accessMode: AccessMode) {
  const config = tool.config?.kind === 'http' ? tool.config : undefined;
  const url = config?.baseUrl === undefined || config.baseUrl === null ? undefined : new URL(config.baseUrl);
  return {
    name: tool.name,
    namespace,
    kind: tool.kind,
    spec: {
      description: tool.description,
      connection:
        url === undefined
          ? null
          : {
              baseUrl: config?.baseUrl ?? null,
              port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
              scheme: url.protocol === 'https:' ? 'HTTPS' : 'HTTP',
              method: config?.method ?? null,
              path: config?.path ?? null,
              authentication: authenticationView(config?.auth),
            },
      accessMode,
    },
    status: { phase: 'Ready', version: tool.version },
    created_at: tool.createdAt,
    updated_at: tool.updatedAt,
  };
}

function authenticationView(auth: ToolAuth | undefined) {
  switch (auth?.type) {
    case undefined:
    case 'none':
      return { type: 'None' };
    case 'apiKey':
      return { type: 'APIKey', in: auth.in, name: auth.name, secretRef: auth.value.secret };
    case 'oauth2':
      return {
        type: 'OAuth2',
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        clientSecretRef: auth.clientSecret.secret,
        scopes: auth.scopes,
      };
    case 'bearer':
      return { type: 'Bearer', secretRef: auth.token.secret };
    case 'basic':
      return { type: 'Basic', username: auth.username, secretRef: auth.password.secret };
  }
}
