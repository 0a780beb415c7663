import type { CreateTool, InvokeToolResult, Tool, ToolVersion, UpdateTool } from '@runyard/protocol';
import { builtinTools } from '../engine/tools/builtin-tools.ts';
import {
  isUniqueViolation,
  type Page,
  type PageRequest,
  type Store,
  type ToolRecord,
} from '../store/index.ts';
import { conflict, notFound } from '../shared/errors.ts';
import { StaleWrite, anotherWriterWon, retryOnConflict } from '../shared/retry-on-conflict.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';
import { McpToolDiscovery } from './mcp-tool-discovery.ts';
import type { SecretsService } from './secrets-service.ts';
import { toolContentHash } from './tool-config.ts';
import { ToolDefinitionRules } from './tool-definition-rules.ts';
import { ToolInvocation } from './tool-invocation.ts';
import type { ToolRegistry } from './tool-registry.ts';
import { builtinView, toTool } from './tool-views.ts';

/** Without If-Match, a change that loses a race to another writer is re-applied on the fresh state. */
const maxWriteAttempts = 25;
const toolKeptChanging = 'the tool kept changing; try again';

/**
 * The registry of a workspace's tools: CRUD with immutable versions (what a definition may hold is
 * `tool-definition-rules.ts`), MCP discovery (`mcp-tool-discovery.ts`) and direct invocation
 * (`tool-invocation.ts`).
 */
export class ToolsService {
  private readonly rules: ToolDefinitionRules;
  private readonly discovery: McpToolDiscovery;
  private readonly invocation: ToolInvocation;

  constructor(
    private readonly store: Store,
    secrets: SecretsService,
    private readonly registry: ToolRegistry,
    options: { mcpStdioAllowed: boolean } = { mcpStdioAllowed: true },
  ) {
    this.rules = new ToolDefinitionRules(store, secrets, options);
    this.discovery = new McpToolDiscovery(registry);
    this.invocation = new ToolInvocation(store, registry);
  }

  async create(caller: Caller, input: CreateTool): Promise<Tool> {
    const { name } = input;
    const config = await this.rules.configOfNew(caller.workspaceId, input);
    await this.rules.checkSecrets(caller.workspaceId, config);
    const now = nowIso();
    const record: ToolRecord = {
      id: newId('tool'),
      name,
      kind: config.kind,
      latestVersion: 1,
      revision: 1,
      createdAt: now,
      updatedAt: now,
      config,
    };
    if (config.kind === 'mcp') {
      // Before starting a server: a taken name is a 409 either way (the unique index decides races).
      if ((await this.store.tools.find(caller.workspaceId, name)) !== undefined) {
        throw conflict(`a tool named '${name}' already exists`, { name });
      }
      record.mcpDiscovery = await this.discovery.discover(caller.workspaceId, record, true);
    }
    try {
      await this.store.transaction(async (store) => {
        await store.tools.insert(caller.workspaceId, record);
        await store.tools.insertVersion({
          toolId: record.id,
          version: 1,
          contentHash: toolContentHash(config),
          config,
          createdAt: now,
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`a tool named '${name}' already exists`, { name });
      throw error;
    }
    return toTool(record);
  }

  /** Built-in tools first (in a fixed order), then the registry, newest first. The cursor is the last name or id. */
  async list(caller: Caller, request: PageRequest): Promise<Page<Tool>> {
    const builtins = [...builtinTools.values()].map(builtinView);
    let start = 0;
    let registryCursor: string | undefined;
    if (request.cursor !== undefined) {
      const index = builtins.findIndex((tool) => tool.name === request.cursor);
      start = index === -1 ? builtins.length : index + 1;
      if (index === -1) registryCursor = request.cursor;
    }
    const fromBuiltins = builtins.slice(start, start + request.limit);
    const remaining = request.limit - fromBuiltins.length;
    if (remaining === 0) {
      const more =
        start + request.limit < builtins.length ||
        (await this.store.tools.list(caller.workspaceId, { limit: 1 })).data.length > 0;
      return { data: fromBuiltins, nextCursor: more ? (fromBuiltins.at(-1)?.name ?? null) : null };
    }
    const page = await this.store.tools.list(caller.workspaceId, {
      limit: remaining,
      cursor: registryCursor,
    });
    return { data: [...fromBuiltins, ...page.data.map(toTool)], nextCursor: page.nextCursor };
  }

  async get(caller: Caller, name: string): Promise<Tool> {
    const builtin = builtinTools.get(name);
    if (builtin !== undefined) return builtinView(builtin);
    return toTool(await this.require(caller.workspaceId, name));
  }

  /** A change to the definition adds a version; the same definition again changes nothing. */
  async update(caller: Caller, name: string, change: UpdateTool): Promise<Tool> {
    this.rules.refuseBuiltin(name, 'changed');
    return retryOnConflict({ maxAttempts: maxWriteAttempts, exhausted: toolKeptChanging }, async () => {
      const current = await this.require(caller.workspaceId, name);
      const config = await this.rules.configOfChange(caller.workspaceId, current, change);
      if (toolContentHash(config) === toolContentHash(current.config)) return toTool(current);
      await this.rules.checkSecrets(caller.workspaceId, config);
      const latestVersion = current.latestVersion + 1;
      const mcpDiscovery =
        config.kind === 'mcp'
          ? await this.discovery.discoverChange(caller.workspaceId, current, config, latestVersion)
          : undefined;
      await this.rules.checkAgentsKeepTheirTools(caller.workspaceId, {
        ...current,
        config,
        ...(mcpDiscovery !== undefined && { latestVersion, mcpDiscovery }),
      });
      const updatedAt = nowIso();
      const written = await this.store
        .transaction(async (store) => {
          await store.tools.insertVersion({
            toolId: current.id,
            version: latestVersion,
            contentHash: toolContentHash(config),
            config,
            createdAt: updatedAt,
          });
          // Roll the version back with the transaction when another writer won.
          if (
            !(await store.tools.update(caller.workspaceId, current.id, current.revision, {
              latestVersion,
              updatedAt,
            }))
          ) {
            throw new StaleWrite();
          }
          if (mcpDiscovery !== undefined) {
            await store.tools.setMcpDiscovery(caller.workspaceId, current.id, mcpDiscovery);
          }
        })
        .then(
          () => true,
          (error: unknown) => {
            if (error instanceof StaleWrite || isUniqueViolation(error)) return false;
            throw error;
          },
        );
      if (written) {
        return toTool({
          ...current,
          config,
          latestVersion,
          revision: current.revision + 1,
          updatedAt,
          ...(mcpDiscovery !== undefined && { mcpDiscovery }),
        });
      }
      return anotherWriterWon;
    });
  }

  /** Refused while an agent's draft, staging or production version names the tool or one of its operations. */
  async delete(caller: Caller, name: string): Promise<void> {
    this.rules.refuseBuiltin(name, 'deleted');
    await retryOnConflict({ maxAttempts: maxWriteAttempts, exhausted: toolKeptChanging }, async () => {
      const deleted = await this.store.transaction(async (store) => {
        const current = await store.tools.find(caller.workspaceId, name);
        if (current === undefined) throw notFound('tool', name);
        const uses = await store.tools.agentsUsing(caller.workspaceId, name);
        if (uses.length > 0) {
          throw conflict(`tool '${name}' is used by agents`, { agents: uses.map((use) => use.slug) });
        }
        return store.tools.softDelete(caller.workspaceId, current.id, current.revision, nowIso());
      });
      return deleted ? true : anotherWriterWon;
    });
  }

  /** Newest first; a built-in tool has none. */
  async listVersions(caller: Caller, name: string): Promise<ToolVersion[]> {
    if (builtinTools.has(name)) return [];
    const tool = await this.require(caller.workspaceId, name);
    return this.store.tools.listVersions(tool.id);
  }

  /** See ToolInvocation.invoke. */
  invoke(...call: Parameters<ToolInvocation['invoke']>): Promise<InvokeToolResult> {
    return this.invocation.invoke(...call);
  }

  /**
   * Lists an MCP tool's tools again and keeps them as its operations (`POST /v1/tools/{name}/refresh`).
   * The running server is asked (a stdio process is not restarted): what it offers now is what agents
   * can name and runs can call from now on.
   */
  async refresh(caller: Caller, name: string): Promise<Tool> {
    const current = await this.require(caller.workspaceId, name);
    if (current.config.kind !== 'mcp') {
      throw conflict(`tool '${name}' is not an mcp tool: only mcp tools discover their operations`, {
        name,
        kind: current.config.kind,
      });
    }
    const mcpDiscovery = await this.discovery.discover(caller.workspaceId, current, false);
    await this.store.tools.setMcpDiscovery(caller.workspaceId, current.id, mcpDiscovery);
    return toTool({ ...current, mcpDiscovery });
  }

  /** Ends the MCP connections and stdio server processes of this process (server shutdown). */
  closeConnections(): Promise<void> {
    return this.registry.closeConnections();
  }

  private async require(workspaceId: string, name: string): Promise<ToolRecord> {
    const tool = await this.store.tools.find(workspaceId, name);
    if (tool === undefined) throw notFound('tool', name);
    return tool;
  }
}
