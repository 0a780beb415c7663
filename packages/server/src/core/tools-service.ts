import { randomUUID } from 'node:crypto';
import type {
  McpToolConfig,
  CreateTool,
  InvokeToolResult,
  Tool,
  ToolConfig,
  ToolVersion,
  UpdateTool,
} from '@runyard/protocol';
import { builtinTools } from '../engine/tools/builtin-tools.ts';
import { inputIssues } from '../engine/tools/input-issues.ts';
import type { Tool as EngineTool } from '../engine/tools/tool.ts';
import { ToolError } from '../engine/tools/tool-error.ts';
import {
  isUniqueViolation,
  type Page,
  type PageRequest,
  type Store,
  type ToolRecord,
  type McpDiscovery,
} from '../store/index.ts';
import { RunyardError, conflict, invalidField, notFound } from '../shared/errors.ts';
import { StaleWrite, anotherWriterWon, retryOnConflict } from '../shared/retry-on-conflict.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';
import type { SecretsService } from './secrets-service.ts';
import {
  mergeClientToolChange,
  mergeToolChange,
  normalizeClientToolConfig,
  normalizeToolConfig,
  operationViews,
  secretReferencesOf,
  toolContentHash,
} from './tool-config.ts';
import { callableNames, type ToolRegistry } from './tool-registry.ts';
import { PoliciesService } from './policies-service.ts';
import { mergeAgentToolChange, normalizeAgentToolConfig } from './agent-tool-config.ts';
import { canonicalJson } from './crypto.ts';
import {
  currentDiscovery,
  mcpOperationViews,
  mcpSecretReferences,
  mergeMcpToolChange,
  normalizeMcpToolConfig,
  withoutMcpFields,
} from './mcp-tool-config.ts';

/** Without If-Match, a change that loses a race to another writer is re-applied on the fresh state. */
const maxWriteAttempts = 25;
const toolKeptChanging = 'the tool kept changing; try again';

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

function builtinView(tool: EngineTool): Tool {
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

/** The registry of a workspace's tools: CRUD with immutable versions, and direct invocation. */
export class ToolsService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretsService,
    private readonly registry: ToolRegistry,
    private readonly options: { mcpStdioAllowed: boolean } = { mcpStdioAllowed: true },
  ) {}

  async create(caller: Caller, input: CreateTool): Promise<Tool> {
    const { name, kind, ...fields } = input;
    if (builtinTools.has(name)) {
      throw conflict(`'${name}' is the name of a built-in tool`, { name });
    }
    const config =
      kind === 'agent'
        ? await normalizeAgentToolConfig(this.store, caller.workspaceId, fields)
        : kind === 'mcp'
          ? this.refuseDisabledStdio(normalizeMcpToolConfig(fields))
          : kind === 'client'
            ? normalizeClientToolConfig(fields)
            : normalizeToolConfig(name, withoutMcpFields(fields));
    await this.checkSecrets(caller.workspaceId, config);
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
      record.mcpDiscovery = await this.discover(caller.workspaceId, record, true);
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
    this.refuseBuiltin(name, 'changed');
    return retryOnConflict({ maxAttempts: maxWriteAttempts, exhausted: toolKeptChanging }, async () => {
      const current = await this.require(caller.workspaceId, name);
      const config =
        current.config.kind === 'agent'
          ? await normalizeAgentToolConfig(
              this.store,
              caller.workspaceId,
              mergeAgentToolChange(current.config, change),
            )
          : current.config.kind === 'mcp'
            ? this.refuseDisabledStdio(normalizeMcpToolConfig(mergeMcpToolChange(current.config, change)))
            : current.config.kind === 'client'
              ? normalizeClientToolConfig(mergeClientToolChange(current.config, change))
              : normalizeToolConfig(name, withoutMcpFields(mergeToolChange(current.config, change)));
      if (toolContentHash(config) === toolContentHash(current.config)) return toTool(current);
      await this.checkSecrets(caller.workspaceId, config);
      const latestVersion = current.latestVersion + 1;
      const mcpDiscovery =
        config.kind === 'mcp'
          ? await this.discoverChange(caller.workspaceId, current, config, latestVersion)
          : undefined;
      await this.checkAgentsKeepTheirTools(caller.workspaceId, {
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
    this.refuseBuiltin(name, 'deleted');
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

  /**
   * Calls one tool (`shout`, `billing.createInvoice`, `echo`) as a model's call would be made:
   * the same input check, the same credentials, the same result. A tool that produces no result
   * answers 502 TOOL_FAILED, one its policies refuse 403 POLICY_DENIED; an HTTP error status of the
   * tool's API is a result.
   */
  async invoke(
    caller: Caller,
    name: string,
    input: Record<string, unknown>,
    signal: AbortSignal,
    policyNames: readonly string[] = [],
  ): Promise<InvokeToolResult> {
    const resolved = await this.registry.resolveOne(caller.workspaceId, name);
    if (resolved === undefined) throw notFound('tool', name);
    // Under the same policies as a run: those named in the body (none: network tools send nothing).
    const policies = new PoliciesService(this.store);
    await policies.assertExist(caller.workspaceId, policyNames, 'policies');
    const tool = (
      await policies.enforce(caller.workspaceId, new Map([[name, resolved]]), {
        policies: policyNames,
        agentId: null,
      })
    ).get(name);
    if (tool === undefined) throw notFound('tool', name);
    const issues = inputIssues(tool.inputSchema, input);
    if (issues.length > 0) {
      const [first] = issues;
      const label = (path: string) => (path === '' ? 'input' : `input.${path}`);
      throw new RunyardError(
        'VALIDATION_FAILED',
        `${label(first?.path ?? '')}: ${first?.message ?? 'is invalid'}`,
        {
          location: 'body',
          issues: issues.map((issue) => ({
            path: label(issue.path),
            message: issue.message,
            code: 'invalid_value',
          })),
        },
      );
    }
    const started = performance.now();
    try {
      const output = await tool.execute(input, {
        workspaceId: caller.workspaceId,
        runId: null,
        toolCallId: `invoke_${randomUUID()}`,
        signal,
      });
      return {
        tool: name,
        output: output === undefined ? null : output,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      };
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof ToolError && error.reason === 'invalid-input')
        throw invalidField('input', error.message);
      if (error instanceof ToolError && error.refusal !== undefined) throw policyDenied(name, error);
      const reason = error instanceof ToolError ? error.reason : 'error';
      const message = error instanceof Error ? error.message : String(error);
      throw new RunyardError('TOOL_FAILED', `tool '${name}' failed: ${message}`, { tool: name, reason });
    }
  }

  private async require(workspaceId: string, name: string): Promise<ToolRecord> {
    const tool = await this.store.tools.find(workspaceId, name);
    if (tool === undefined) throw notFound('tool', name);
    return tool;
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

  private refuseBuiltin(name: string, verb: string): void {
    if (builtinTools.has(name)) throw conflict(`the built-in tool '${name}' cannot be ${verb}`, { name });
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
    const mcpDiscovery = await this.discover(caller.workspaceId, current, false);
    await this.store.tools.setMcpDiscovery(caller.workspaceId, current.id, mcpDiscovery);
    return toTool({ ...current, mcpDiscovery });
  }

  /** Ends the MCP connections and stdio server processes of this process (server shutdown). */
  closeConnections(): Promise<void> {
    return this.registry.closeConnections();
  }

  /**
   * `tools/list` on the server of this version of the definition. A server that cannot start or
   * answer is a 502 TOOL_FAILED whose message says why (scrubbed of the tool's credentials).
   */
  private async discover(workspaceId: string, record: ToolRecord, fresh: boolean): Promise<McpDiscovery> {
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
  private async discoverChange(
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

  private async checkSecrets(workspaceId: string, config: ToolConfig): Promise<void> {
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
  private async checkAgentsKeepTheirTools(workspaceId: string, next: ToolRecord): Promise<void> {
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
}

/** A refusal of the egress policy, answered as the caller's problem: nothing was sent. */
function policyDenied(name: string, error: ToolError): RunyardError {
  const { resource, policy, ruleIndex } = error.refusal ?? { resource: `tool:${name}` };
  return new RunyardError('POLICY_DENIED', `tool '${name}' was refused: ${error.message}`, {
    tool: name,
    reason: error.reason,
    resource,
    ...(policy != null && { policy }),
    ...(ruleIndex != null && { rule: ruleIndex }),
  });
}
