import type { McpToolConfig } from '@runyard/protocol';
import { ToolError } from '../engine/tools/tool-error.ts';
import type { McpDiscovery, ToolRecord } from '../store/index.ts';
import { RunyardError } from '../shared/errors.ts';
import { nowIso } from './clock.ts';
import { canonicalJson } from './crypto.ts';
import { currentDiscovery } from './mcp-tool-config.ts';
import type { ToolRegistry } from './tool-registry.ts';

/** The operations of an MCP tool: what its server lists (`tools/list`), kept per version. */
export class McpToolDiscovery {
  constructor(private readonly registry: ToolRegistry) {}

  /**
   * `tools/list` on the server of this version of the definition. A server that cannot start or
   * answer is a 502 TOOL_FAILED whose message says why (scrubbed of the tool's credentials).
   * `fresh`: the tool is not created yet, so a failure leaves no server running.
   */
  async discover(workspaceId: string, record: ToolRecord, fresh: boolean): Promise<McpDiscovery> {
    try {
      const tools = await this.registry.discoverMcpTools(workspaceId, record, new AbortController().signal);
      return { version: record.latestVersion, discoveredAt: nowIso(), tools };
    } catch (error) {
      // A tool that is not created keeps no server running.
      if (fresh) await this.registry.resetMcpConnection(workspaceId, record.id);
      const reason = error instanceof ToolError ? error.reason : 'error';
      const message = error instanceof Error ? error.message : String(error);
      throw new RunyardError(
        'TOOL_FAILED',
        `tool '${record.name}': the MCP server did not list its tools: ${message}`,
        { tool: record.name, reason },
      );
    }
  }

  /** A change that keeps the server (only description or timeout) keeps its tools; any other lists them again. */
  async discoverChange(
    workspaceId: string,
    current: ToolRecord,
    config: McpToolConfig,
    version: number,
  ): Promise<McpDiscovery> {
    const previous = current.config.kind === 'mcp' ? currentDiscovery(current) : undefined;
    const sameServer =
      current.config.kind === 'mcp' &&
      canonicalJson({ ...current.config, description: '', timeoutMs: 0 }) ===
        canonicalJson({ ...config, description: '', timeoutMs: 0 });
    if (sameServer && previous !== undefined) return { ...previous, version };
    return this.discover(workspaceId, { ...current, config, latestVersion: version }, false);
  }
}
