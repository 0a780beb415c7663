import type { CreateTool, McpToolConfig, ToolConfig, UpdateTool } from '@runyard/protocol';
import { builtinTools } from '../engine/tools/builtin-tools.ts';
import type { Store, ToolRecord } from '../store/index.ts';
import { conflict, invalidField } from '../shared/errors.ts';
import { mergeAgentToolChange, normalizeAgentToolConfig } from './agent-tool-config.ts';
import {
  mergeMcpToolChange,
  mcpSecretReferences,
  normalizeMcpToolConfig,
  withoutMcpFields,
} from './mcp-tool-config.ts';
import type { SecretsService } from './secrets-service.ts';
import {
  mergeClientToolChange,
  mergeToolChange,
  normalizeClientToolConfig,
  normalizeToolConfig,
  secretReferencesOf,
} from './tool-config.ts';
import { callableNames } from './tool-registry.ts';

/**
 * What makes a tool definition acceptable, by kind: its normalized config (new or changed), the
 * secrets it names, the operations agents use, and the built-in names and stdio servers it may not
 * take.
 */
export class ToolDefinitionRules {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretsService,
    private readonly options: { mcpStdioAllowed: boolean },
  ) {}

  /** The config of a new tool (its name is not a built-in one). */
  async configOfNew(workspaceId: string, input: CreateTool): Promise<ToolConfig> {
    const { name, kind, ...fields } = input;
    if (builtinTools.has(name)) {
      throw conflict(`'${name}' is the name of a built-in tool`, { name });
    }
    return kind === 'agent'
      ? await normalizeAgentToolConfig(this.store, workspaceId, fields)
      : kind === 'mcp'
        ? this.refuseDisabledStdio(normalizeMcpToolConfig(fields))
        : kind === 'client'
          ? normalizeClientToolConfig(fields)
          : normalizeToolConfig(name, withoutMcpFields(fields));
  }

  /** The config of a tool after a change; its kind never changes. */
  async configOfChange(workspaceId: string, current: ToolRecord, change: UpdateTool): Promise<ToolConfig> {
    return current.config.kind === 'agent'
      ? await normalizeAgentToolConfig(this.store, workspaceId, mergeAgentToolChange(current.config, change))
      : current.config.kind === 'mcp'
        ? this.refuseDisabledStdio(normalizeMcpToolConfig(mergeMcpToolChange(current.config, change)))
        : current.config.kind === 'client'
          ? normalizeClientToolConfig(mergeClientToolChange(current.config, change))
          : normalizeToolConfig(current.name, withoutMcpFields(mergeToolChange(current.config, change)));
  }

  refuseBuiltin(name: string, verb: string): void {
    if (builtinTools.has(name)) throw conflict(`the built-in tool '${name}' cannot be ${verb}`, { name });
  }

  /** Every secret the config names exists in the workspace. */
  async checkSecrets(workspaceId: string, config: ToolConfig): Promise<void> {
    // Agent and client tools reference no secret.
    if (config.kind === 'agent' || config.kind === 'client') return;
    const references = config.kind === 'mcp' ? mcpSecretReferences(config) : secretReferencesOf(config.auth);
    for (const { field, secret } of references) {
      if (!(await this.secrets.exists(workspaceId, secret))) {
        throw invalidField(field, `no secret named '${secret}' exists in this workspace`);
      }
    }
  }

  /** A new version must keep every operation an agent names (an OpenAPI document may drop some). */
  async checkAgentsKeepTheirTools(workspaceId: string, next: ToolRecord): Promise<void> {
    const uses = await this.store.tools.agentsUsing(workspaceId, next.name);
    if (uses.length === 0) return;
    const offered = new Set(callableNames(next));
    const lost = uses.filter((use) => use.tools.some((tool) => !offered.has(tool)));
    if (lost.length > 0) {
      const tools = [
        ...new Set(lost.flatMap((use) => use.tools.filter((tool) => !offered.has(tool)))),
      ].sort();
      throw conflict(`the change removes tools that agents use: ${tools.join(', ')}`, {
        agents: lost.map((use) => use.slug),
        tools,
      });
    }
  }

  /**
   * With RUNYARD_MCP_STDIO=disabled no stdio definition is created or changed (a change would start
   * it); an existing one can still be read, deleted or moved to http.
   */
  private refuseDisabledStdio(config: McpToolConfig): McpToolConfig {
    if (config.transport === 'stdio' && !this.options.mcpStdioAllowed) {
      throw invalidField(
        'transport',
        'stdio is disabled on this server (RUNYARD_MCP_STDIO=disabled): connect to the MCP server over http',
      );
    }
    return config;
  }
}
