import type { Tool } from '../tool.ts';
import type { McpClientPool, McpListedTool, McpServerReference } from './mcp-client-pool.ts';

/**
 * One tool of an MCP server as the engine calls it: `<registry name>.<server's tool name>`.
 * Holds no credential: the pooled connection reads secrets when it connects (stdio env) or sends
 * (http headers). Over Streamable HTTP it is a network tool, under the egress policy.
 */
export function createMcpTool(
  registryName: string,
  listed: McpListedTool,
  server: McpServerReference,
  pool: McpClientPool,
): Tool {
  return {
    name: `${registryName}.${listed.name}`,
    description: listed.description,
    inputSchema: listed.inputSchema,
    network: server.config.transport === 'http',
    execute: (input, context) =>
      pool.callTool(
        server,
        listed.name,
        (input ?? {}) as Record<string, unknown>,
        context.signal,
        context.reportProgress,
        context.egress,
      ),
  };
}
