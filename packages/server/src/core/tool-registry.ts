import { createAgentTool } from '../engine/tools/agent-tool.ts';
import { builtinTools } from '../engine/tools/builtin-tools.ts';
import { createClientTool } from '../engine/tools/client-tool.ts';
import type { CredentialSource } from '../engine/tools/http-auth.ts';
import { httpOperations } from '../engine/tools/http-operations.ts';
import { createHttpTool, type HttpOperation } from '../engine/tools/http-tool.ts';
import {
  McpClientPool,
  type McpListedTool,
  type McpServerReference,
} from '../engine/tools/mcp/mcp-client-pool.ts';
import { createMcpTool } from '../engine/tools/mcp/mcp-tool.ts';
import { discoveryEgress } from '../engine/tools/mcp/discovery-egress.ts';
import { OAuth2TokenCache } from '../engine/tools/oauth2-token-cache.ts';
import type { Tool } from '../engine/tools/tool.ts';
import type { Store, ToolRecord } from '../store/index.ts';
import { RunyardError } from '../shared/errors.ts';
import { currentDiscovery, mcpOperationViews } from './mcp-tool-config.ts';
import type { SecretsService } from './secrets-service.ts';

const maxCachedVersions = 500;

/** `billing.createInvoice` → `billing`; `shout` → `shout`. */
export function baseToolName(callableName: string): string {
  const dot = callableName.indexOf('.');
  return dot === -1 ? callableName : callableName.slice(0, dot);
}

/** The callable names of a registry tool: itself, or `<name>.<operationId>` per OpenAPI operation. */
export function callableNames(record: ToolRecord): string[] {
  if (record.config.kind === 'agent' || record.config.kind === 'client') return [record.name];
  if (record.config.kind === 'mcp') return mcpOperationViews(record).map((operation) => operation.name);
  try {
    return httpOperations(record.name, record.config).map((operation) => operation.name);
  } catch {
    return [];
  }
}

export interface UnknownToolName {
  index: number;
  name: string;
  /** For an OpenAPI tool named without an operation: the names it offers. */
  operations?: string[];
}

/** The names in `names` that are neither built-in nor callable from this workspace's registry. */
export async function unknownToolNames(
  store: Store,
  workspaceId: string,
  names: readonly string[],
): Promise<UnknownToolName[]> {
  const wanted = names.filter((name) => !builtinTools.has(name));
  if (wanted.length === 0) return [];
  const records = await store.tools.findMany(workspaceId, wanted.map(baseToolName));
  const callable = new Map(records.map((record) => [record.name, callableNames(record)]));
  const unknown: UnknownToolName[] = [];
  names.forEach((name, index) => {
    if (builtinTools.has(name)) return;
    const offered = callable.get(baseToolName(name));
    if (offered?.includes(name) === true) return;
    unknown.push({
      index,
      name,
      ...(offered !== undefined &&
        offered.length > 0 &&
        name === baseToolName(name) && { operations: offered }),
    });
  });
  return unknown;
}

/**
 * Builds the tools a run (or a direct invocation) calls: built-ins, then registry tools by their
 * callable names. Credentials are not read here: each http tool asks for its secrets when it is
 * executed, so a resolved tool holds none. One OAuth2 token cache serves the whole process.
 */
export class ToolRegistry {
  /** Operations per immutable version (`<id>:<version>`): parsed once, and stable schema objects. */
  private readonly operations = new Map<string, HttpOperation[]>();
  /** Discovered MCP tools per discovery (`<id>:<version>:<discoveredAt>`). */
  private readonly mcpTools = new Map<string, McpListedTool[]>();
  /** Client tools per immutable version: a stable schema object, compiled once by the validator. */
  private readonly clientTools = new Map<string, Tool>();

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretsService,
    private readonly tokens: OAuth2TokenCache = new OAuth2TokenCache(),
    private readonly mcp: McpClientPool = new McpClientPool(),
  ) {}

  /**
   * Lists an MCP tool's tools (`tools/list`) on the pooled connection of that version of its
   * definition (a stdio server is spawned if none runs). A server that cannot start or answer is a
   * ToolError; the caller decides what it means (502 on create, update and refresh).
   */
  discoverMcpTools(
    workspaceId: string,
    record: Pick<ToolRecord, 'id' | 'latestVersion' | 'config'>,
    signal: AbortSignal,
  ): Promise<McpListedTool[]> {
    const server = this.mcpServer(workspaceId, record);
    const egress =
      server.config.transport === 'http' && server.config.url !== null
        ? discoveryEgress(record.id, server.config.url)
        : undefined;
    return this.mcp.listTools(server, signal, egress);
  }

  /** Drops the pooled connection of a tool (a failed create leaves nothing running). */
  resetMcpConnection(workspaceId: string, toolId: string): Promise<void> {
    return this.mcp.reset(workspaceId, toolId);
  }

  /** Ends every MCP connection and stdio server process (server shutdown). */
  closeConnections(): Promise<void> {
    return this.mcp.close();
  }

  private mcpServer(
    workspaceId: string,
    record: Pick<ToolRecord, 'id' | 'latestVersion' | 'config'>,
  ): McpServerReference {
    if (record.config.kind !== 'mcp') throw new Error(`tool ${record.id} is not an mcp tool`);
    return {
      workspaceId,
      toolId: record.id,
      version: record.latestVersion,
      config: record.config,
      reveal: (secretName) => this.secrets.reveal(workspaceId, secretName),
    };
  }

  /** The discovered tools of the newest version, as stable objects per discovery (the validator caches by schema object). */
  private mcpToolsOf(record: ToolRecord): McpListedTool[] {
    const discovery = currentDiscovery(record);
    if (discovery === undefined) return [];
    const key = `${record.id}:${record.latestVersion}:${discovery.discoveredAt}`;
    let listed = this.mcpTools.get(key);
    if (listed === undefined) {
      listed = discovery.tools;
      this.mcpTools.set(key, listed);
      for (const oldest of this.mcpTools.keys()) {
        if (this.mcpTools.size <= maxCachedVersions) break;
        this.mcpTools.delete(oldest);
      }
    }
    return listed;
  }

  /** The tools with these names; unknown names are left out (the engine tells the model). */
  async resolve(workspaceId: string, names: readonly string[]): Promise<Map<string, Tool>> {
    const tools = new Map<string, Tool>();
    const wanted = names.filter((name) => !builtinTools.has(name));
    const records =
      wanted.length === 0 ? [] : await this.store.tools.findMany(workspaceId, wanted.map(baseToolName));
    const byName = new Map(records.map((record) => [record.name, record]));
    const source = this.credentialSource(workspaceId);
    for (const name of names) {
      const builtin = builtinTools.get(name);
      if (builtin !== undefined) {
        tools.set(name, builtin);
        continue;
      }
      const record = byName.get(baseToolName(name));
      if (record === undefined) continue;
      if (record.config.kind === 'agent') {
        if (name === record.name) tools.set(name, createAgentTool(name, record.config));
        continue;
      }
      if (record.config.kind === 'client') {
        if (name === record.name) tools.set(name, this.clientToolOf(record));
        continue;
      }
      if (record.config.kind === 'mcp') {
        const listed = this.mcpToolsOf(record).find((tool) => `${record.name}.${tool.name}` === name);
        if (listed !== undefined) {
          tools.set(name, createMcpTool(record.name, listed, this.mcpServer(workspaceId, record), this.mcp));
        }
        continue;
      }
      const operation = this.operationsOf(record).find((candidate) => candidate.name === name);
      if (operation !== undefined) tools.set(name, createHttpTool(operation, source));
    }
    return tools;
  }

  async resolveOne(workspaceId: string, name: string): Promise<Tool | undefined> {
    return (await this.resolve(workspaceId, [name])).get(name);
  }

  private clientToolOf(record: ToolRecord): Tool {
    if (record.config.kind !== 'client') throw new Error(`tool ${record.id} is not a client tool`);
    const key = `${record.id}:${record.latestVersion}`;
    const tool = this.clientTools.get(key) ?? createClientTool(record.name, record.config);
    // Most recently used last; the oldest entry goes first.
    this.clientTools.delete(key);
    this.clientTools.set(key, tool);
    for (const oldest of this.clientTools.keys()) {
      if (this.clientTools.size <= maxCachedVersions) break;
      this.clientTools.delete(oldest);
    }
    return tool;
  }

  private operationsOf(record: ToolRecord): HttpOperation[] {
    const key = `${record.id}:${record.latestVersion}`;
    let operations = this.operations.get(key);
    if (operations === undefined) {
      try {
        operations = record.config.kind === 'http' ? httpOperations(record.name, record.config) : [];
      } catch {
        operations = [];
      }
    }
    // Most recently used last; the oldest entry goes first.
    this.operations.delete(key);
    this.operations.set(key, operations);
    for (const oldest of this.operations.keys()) {
      if (this.operations.size <= maxCachedVersions) break;
      this.operations.delete(oldest);
    }
    return operations;
  }

  private credentialSource(workspaceId: string): CredentialSource {
    return {
      reveal: (secretName) => this.secrets.reveal(workspaceId, secretName),
      tokens: this.tokens,
      scope: workspaceId,
    };
  }
}

/** The 400 for an agent that names tools nobody can call: one issue per name, at `tools.<index>`. */
export function unknownToolsError(unknown: readonly UnknownToolName[]): RunyardError {
  const issues = unknown.map((item) => ({
    path: `tools.${item.index}`,
    message:
      item.operations === undefined
        ? `no tool named '${item.name}' exists in this workspace`
        : `'${item.name}' has operations: name them, e.g. '${item.operations.slice(0, 3).join("', '")}'`,
    code: 'invalid_value',
  }));
  const names = unknown.map((item) => `'${item.name}'`).join(', ');
  return new RunyardError('VALIDATION_FAILED', `tools: unknown tools ${names}`, {
    location: 'body',
    issues,
    unknownTools: unknown.map((item) => item.name),
  });
}
