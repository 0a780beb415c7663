import type { McpToolConfig } from '@runyard/protocol';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ToolError } from '../tool-error.ts';
import type { ToolContext, ToolProgress } from '../tool.ts';
import { McpConnection, messageOf, type RevealSecret } from './mcp-connection.ts';
import { toToolOutput, type McpToolOutput } from './mcp-result.ts';

/** Which server: one registry tool (at one version of its definition) of one workspace. */
export interface McpServerReference {
  workspaceId: string;
  toolId: string;
  version: number;
  config: McpToolConfig;
  reveal: RevealSecret;
}

/** One tool a server lists, as a model is shown it (`name` is the server's, without the prefix). */
export interface McpListedTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** Tool names a model can call as `<tool>.<name>`; others are left out of the listing. */
const callableNamePattern = /^[A-Za-z0-9_-]{1,64}$/;
const maxListPages = 20;

/**
 * The process's MCP connections, one per tool definition per workspace (a stdio server is one
 * child process, spawned on first use and again after it dies). A newer version of the definition
 * replaces the connection of the older one. `close` ends them all (server shutdown).
 */
export class McpClientPool {
  private readonly connections = new Map<string, { version: number; connection: McpConnection }>();
  private closed = false;

  /**
   * `stdioAllowed: false` (RUNYARD_MCP_STDIO=disabled): no stdio server is started, not even for a
   * tool defined while it was allowed.
   */
  constructor(private readonly options: { stdioAllowed: boolean } = { stdioAllowed: true }) {}

  /** The server's tools (every page of `tools/list`). */
  async listTools(
    server: McpServerReference,
    signal: AbortSignal,
    egress?: ToolContext['egress'],
  ): Promise<McpListedTool[]> {
    const connection = this.connectionOf(server);
    const listed: McpListedTool[] = [];
    try {
      const client = await connection.asCall(egress, () => connection.connected(signal));
      let cursor: string | undefined;
      for (let page = 0; page < maxListPages; page += 1) {
        const result = await connection.asCall(egress, () =>
          client.listTools(cursor === undefined ? {} : { cursor }, {
            signal,
            timeout: server.config.timeoutMs,
          }),
        );
        for (const tool of result.tools) {
          if (!callableNamePattern.test(tool.name)) continue;
          listed.push({
            name: tool.name,
            description: tool.description ?? tool.title ?? '',
            inputSchema: modelSchema(tool.inputSchema),
          });
        }
        cursor = result.nextCursor;
        if (cursor === undefined) break;
      }
    } catch (error) {
      throw failure(error, connection, server.config.timeoutMs, signal);
    }
    connection.noteSuccess();
    return listed;
  }

  /**
   * Calls one tool of the server with the call's timeout (restarted by each progress notification)
   * and the run's abort signal. An `isError` result is a ToolError: the model gets it as an error
   * result.
   */
  async callTool(
    server: McpServerReference,
    toolName: string,
    input: Record<string, unknown>,
    signal: AbortSignal,
    onProgress?: (progress: ToolProgress) => void,
    egress?: ToolContext['egress'],
  ): Promise<McpToolOutput> {
    const connection = this.connectionOf(server);
    // The SDK's type also admits a legacy `{toolResult}` shape; only these fields are read.
    let result: McpCallResult;
    try {
      const client = await connection.asCall(egress, () => connection.connected(signal));
      result = await connection.asCall(egress, (): Promise<McpCallResult> =>
        client.callTool({ name: toolName, arguments: input }, undefined, {
          signal,
          timeout: server.config.timeoutMs,
          resetTimeoutOnProgress: true,
          ...(onProgress !== undefined && {
            onprogress: (progress) =>
              onProgress({
                progress: progress.progress,
                ...(progress.total !== undefined && { total: progress.total }),
                ...(progress.message !== undefined && {
                  message: connection.scrubber.scrub(progress.message),
                }),
              }),
          }),
        }),
      );
    } catch (error) {
      throw failure(error, connection, server.config.timeoutMs, signal);
    }
    connection.noteSuccess();
    const { output, text } = toToolOutput(result, connection.scrubber);
    if (result.isError === true)
      throw new ToolError('error', text === '' ? 'the MCP tool reported an error' : text);
    return output;
  }

  /** Closes the tool's connection: the next use connects (or spawns) afresh. */
  async reset(workspaceId: string, toolId: string): Promise<void> {
    const key = `${workspaceId}:${toolId}`;
    const entry = this.connections.get(key);
    this.connections.delete(key);
    await entry?.connection.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(entries.map((entry) => entry.connection.close()));
  }

  private connectionOf(server: McpServerReference): McpConnection {
    if (this.closed) throw new ToolError('unreachable', 'the server is shutting down');
    if (server.config.transport === 'stdio' && !this.options.stdioAllowed) throw stdioDisabled();
    const key = `${server.workspaceId}:${server.toolId}`;
    const entry = this.connections.get(key);
    if (entry !== undefined && entry.version === server.version) return entry.connection;
    // An older definition's server is closed in the background; its calls in flight fail.
    if (entry !== undefined && entry.version < server.version) void entry.connection.close();
    if (entry !== undefined && entry.version > server.version) {
      // A caller with an older view of the tool: serve it without replacing the newer connection.
      return entry.connection;
    }
    const connection = new McpConnection(server.config, server.reveal);
    this.connections.set(key, { version: server.version, connection });
    return connection;
  }
}

type McpCallResult = Record<string, unknown>;

function stdioDisabled(): ToolError {
  return new ToolError(
    'error',
    'MCP servers over stdio are disabled on this Runyard server (RUNYARD_MCP_STDIO=disabled)',
  );
}

/** The tool's own schema, without `$schema` (models and the validator want the bare schema). */
function modelSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

function failure(error: unknown, connection: McpConnection, timeoutMs: number, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  if (error instanceof ToolError) return error;
  if (error instanceof McpError && error.code === (ErrorCode.RequestTimeout as number)) {
    return new ToolError('timeout', `the MCP server did not answer within ${timeoutMs} ms`);
  }
  if (error instanceof McpError && error.code === (ErrorCode.ConnectionClosed as number)) {
    return new ToolError(
      'unreachable',
      connection.scrubber.scrub(`the MCP server went away: ${error.message}`),
    );
  }
  return new ToolError('error', connection.scrubber.scrub(messageOf(error)));
}
