import type { Tool } from '@runyard/protocol';
import type { Tool as EngineTool } from '../engine/tools/tool.ts';
import type { ToolRecord } from '../store/index.ts';
import { currentDiscovery, mcpOperationViews } from './mcp-tool-config.ts';
import { operationViews } from './tool-config.ts';

/** A registry tool as the API shows it. */
export function toTool(record: ToolRecord): Tool {
  return {
    id: record.id,
    name: record.name,
    kind: record.kind,
    builtIn: false,
    description: record.config.description,
    version: record.latestVersion,
    config: record.config,
    operations:
      record.config.kind === 'mcp' ? mcpOperationViews(record) : operationViews(record.name, record.config),
    ...(record.config.kind === 'mcp' && { discoveredAt: currentDiscovery(record)?.discoveredAt ?? null }),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** A built-in tool as the API shows it: no id, version or config. */
export function builtinView(tool: EngineTool): Tool {
  return {
    id: null,
    name: tool.name,
    kind: 'builtin',
    builtIn: true,
    description: tool.description,
    version: null,
    config: null,
    operations: [{ name: tool.name, description: tool.description, inputSchema: tool.inputSchema }],
    createdAt: null,
    updatedAt: null,
  };
}
