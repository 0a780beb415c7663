import type { CreateTool, McpToolConfig, ToolOperation, UpdateTool } from '@runyard/protocol';
import type { McpDiscovery, ToolRecord } from '../store/index.ts';
import { invalidField } from '../shared/errors.ts';

/** The definition fields of a tool, as create and update send them. */
type DefinitionFields = Omit<CreateTool, 'name' | 'kind'>;

/** Per request (connect, tools/list, each call; progress restarts a call's clock). */
export const defaultMcpTimeoutMs = 60_000;

const commonFields = ['description', 'transport', 'timeoutMs'];
const stdioFields = new Set([...commonFields, 'command', 'args', 'env']);
const httpFields = new Set([...commonFields, 'url', 'headers']);
const mcpOnlyFields = ['transport', 'command', 'args', 'env', 'url', 'headers'] as const;

/**
 * An MCP tool's definition, every default filled in. Fields of the other transport, or of another
 * kind, are a 400 naming the field.
 */
export function normalizeMcpToolConfig(fields: DefinitionFields): McpToolConfig {
  if (fields.transport === undefined)
    throw invalidField('transport', 'is required for an mcp tool (stdio or http)');
  const allowed = fields.transport === 'stdio' ? stdioFields : httpFields;
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null && !allowed.has(field)) {
      throw invalidField(
        field,
        `is not a field of an mcp tool over ${fields.transport} (${[...allowed].join(', ')})`,
      );
    }
  }
  const common = {
    kind: 'mcp' as const,
    description: fields.description ?? '',
    timeoutMs: fields.timeoutMs ?? defaultMcpTimeoutMs,
  };
  if (fields.transport === 'stdio') {
    if (fields.command === undefined) throw invalidField('command', 'is required for an mcp tool over stdio');
    return {
      ...common,
      transport: 'stdio',
      command: fields.command,
      args: fields.args ?? [],
      env: fields.env ?? {},
      url: null,
      headers: {},
    };
  }
  if (fields.url === undefined) throw invalidField('url', 'is required for an mcp tool over http');
  const url = new URL(fields.url);
  if (url.username !== '' || url.password !== '') {
    throw invalidField('url', 'must not hold credentials: send them in headers, as secrets');
  }
  if (url.hash !== '') throw invalidField('url', 'must not have a #fragment');
  return {
    ...common,
    transport: 'http',
    command: null,
    args: [],
    env: {},
    url: fields.url,
    headers: fields.headers ?? {},
  };
}

/** PATCH semantics; changing `transport` drops the fields of the old one. */
export function mergeMcpToolChange(current: McpToolConfig, change: UpdateTool): DefinitionFields {
  const switching = change.transport !== undefined && change.transport !== current.transport;
  const fields: Record<string, unknown> = {
    description: current.description,
    transport: current.transport,
    timeoutMs: current.timeoutMs,
    ...(!switching &&
      (current.transport === 'stdio'
        ? { command: current.command, args: current.args, env: current.env }
        : { url: current.url, headers: current.headers })),
  };
  for (const [key, value] of Object.entries(change)) if (value !== undefined) fields[key] = value;
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
}

/** An `http` tool's definition must not hold MCP fields (they would be ignored silently). */
export function withoutMcpFields<Fields extends Partial<Record<(typeof mcpOnlyFields)[number], unknown>>>(
  fields: Fields,
): Fields {
  for (const field of mcpOnlyFields) {
    if (fields[field] !== undefined && fields[field] !== null) {
      throw invalidField(field, 'is a field of mcp tools only');
    }
  }
  return fields;
}

/** Every secret the definition references (env values, header values), with the field that names it. */
export function mcpSecretReferences(config: McpToolConfig): { field: string; secret: string }[] {
  const references: { field: string; secret: string }[] = [];
  for (const [where, values] of [
    ['env', config.env],
    ['headers', config.headers],
  ] as const) {
    for (const [name, value] of Object.entries(values)) {
      if (typeof value !== 'string')
        references.push({ field: `${where}.${name}.secret`, secret: value.secret });
    }
  }
  return references;
}

/** The discovery of the record's newest version, or undefined when it has none (yet). */
export function currentDiscovery(
  record: Pick<ToolRecord, 'latestVersion' | 'mcpDiscovery'>,
): McpDiscovery | undefined {
  const discovery = record.mcpDiscovery ?? undefined;
  return discovery?.version === record.latestVersion ? discovery : undefined;
}

/** The discovered tools as operations, `<name>.<mcpTool>`. */
export function mcpOperationViews(
  record: Pick<ToolRecord, 'name' | 'latestVersion' | 'mcpDiscovery'>,
): ToolOperation[] {
  return (currentDiscovery(record)?.tools ?? []).map((tool) => ({
    name: `${record.name}.${tool.name}`,
    description: tool.description,
    inputSchema: tool.inputSchema,
  }));
}
