import type { Kysely, Selectable } from 'kysely';
import type { ToolConfig, ToolVersion } from '@runyard/protocol';
import type { Database, ToolTable, ToolVersionTable } from '../schema.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';

export interface ToolRow {
  id: string;
  name: string;
  kind: ToolConfig['kind'];
  latestVersion: number;
  revision: number;
  createdAt: string;
  updatedAt: string;
  /** mcp tools: the last tools/list answer (absent or null for other kinds). */
  mcpDiscovery?: McpDiscovery | null;
}

/** One tool an MCP server listed, as kept: what a model is shown of it. */
export interface McpDiscoveredTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** The last `tools/list` answer of an MCP tool, and for which version of its definition. */
export interface McpDiscovery {
  version: number;
  discoveredAt: string;
  tools: McpDiscoveredTool[];
}

/** A live tool with the definition of its newest version. */
export interface ToolRecord extends ToolRow {
  config: ToolConfig;
}

/** An agent that names tools of the registry, in its draft, staging or production version. */
export interface ToolUse {
  slug: string;
  tools: string[];
}

const toRow = (row: Selectable<ToolTable>): ToolRow => ({
  id: row.id,
  name: row.name,
  kind: row.kind as ToolRow['kind'],
  latestVersion: row.latest_version,
  revision: row.revision,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  mcpDiscovery: row.mcp_discovery === null ? null : parseJson<McpDiscovery>(row.mcp_discovery),
});

const toRecord = (row: Selectable<ToolTable> & { config: string }): ToolRecord => ({
  ...toRow(row),
  config: parseJson<ToolConfig>(row.config),
});

const toVersion = (row: ToolVersionTable): ToolVersion => ({
  toolId: row.tool_id,
  version: row.version,
  contentHash: row.content_hash,
  config: parseJson<ToolConfig>(row.config),
  createdAt: row.created_at,
});

/** The `"secret":"NAME"` text a stored reference to the secret contains, for a cheap LIKE pre-filter. */
const secretReferenceText = (secretName: string) => JSON.stringify({ secret: secretName }).slice(1, -1);

export class ToolRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private selectLive(workspaceId: string) {
    return this.db
      .selectFrom('tools')
      .innerJoin('tool_versions', (join) =>
        join
          .onRef('tool_versions.tool_id', '=', 'tools.id')
          .onRef('tool_versions.version', '=', 'tools.latest_version'),
      )
      .selectAll('tools')
      .select('tool_versions.config')
      .where('tools.workspace_id', '=', workspaceId)
      .where('tools.deleted_at', 'is', null);
  }

  async insert(workspaceId: string, tool: ToolRow): Promise<void> {
    await this.db
      .insertInto('tools')
      .values({
        id: tool.id,
        workspace_id: workspaceId,
        name: tool.name,
        kind: tool.kind,
        latest_version: tool.latestVersion,
        revision: tool.revision,
        created_at: tool.createdAt,
        updated_at: tool.updatedAt,
        deleted_at: null,
        mcp_discovery: tool.mcpDiscovery == null ? null : JSON.stringify(tool.mcpDiscovery),
      })
      .execute();
  }

  /** Keeps an MCP tool's newest tools/list answer (it does not change the tool's revision). */
  async setMcpDiscovery(workspaceId: string, id: string, discovery: McpDiscovery): Promise<void> {
    await this.db
      .updateTable('tools')
      .set({ mcp_discovery: JSON.stringify(discovery) })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .execute();
  }

  async insertVersion(version: ToolVersion): Promise<void> {
    await this.db
      .insertInto('tool_versions')
      .values({
        tool_id: version.toolId,
        version: version.version,
        content_hash: version.contentHash,
        config: JSON.stringify(version.config),
        created_at: version.createdAt,
      })
      .execute();
  }

  async find(workspaceId: string, name: string): Promise<ToolRecord | undefined> {
    const row = await this.selectLive(workspaceId).where('tools.name', '=', name).executeTakeFirst();
    return row && toRecord(row);
  }

  /** The live tools with these names (names without a tool are simply absent). */
  async findMany(workspaceId: string, names: readonly string[]): Promise<ToolRecord[]> {
    if (names.length === 0) return [];
    const rows = await this.selectLive(workspaceId)
      .where('tools.name', 'in', [...new Set(names)])
      .execute();
    return rows.map(toRecord);
  }

  /** Newest first. */
  async list(workspaceId: string, request: PageRequest): Promise<Page<ToolRecord>> {
    return paginate(this.selectLive(workspaceId), 'tools.id', request, toRecord);
  }

  /** Moves the tool to a new newest version if nobody changed it since `expectedRevision`; false when stale. */
  async update(
    workspaceId: string,
    id: string,
    expectedRevision: number,
    change: { latestVersion: number; updatedAt: string },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('tools')
      .set({
        latest_version: change.latestVersion,
        updated_at: change.updatedAt,
        revision: expectedRevision + 1,
      })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('revision', '=', expectedRevision)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async softDelete(workspaceId: string, id: string, expectedRevision: number, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('tools')
      .set({ deleted_at: at, updated_at: at, revision: expectedRevision + 1 })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('revision', '=', expectedRevision)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async listVersions(toolId: string): Promise<ToolVersion[]> {
    const rows = await this.db
      .selectFrom('tool_versions')
      .selectAll()
      .where('tool_id', '=', toolId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map(toVersion);
  }

  async getVersion(toolId: string, version: number): Promise<ToolVersion | undefined> {
    const row = await this.db
      .selectFrom('tool_versions')
      .selectAll()
      .where('tool_id', '=', toolId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  /** Names of live tools whose newest version holds a reference to this secret. */
  async namesReferencingSecret(workspaceId: string, secretName: string): Promise<string[]> {
    // LIKE narrows the rows cheaply; walking the config confirms it is a reference, not a lookalike.
    const rows = await this.selectLive(workspaceId)
      .where('tool_versions.config', 'like', `%${secretReferenceText(secretName)}%`)
      .execute();
    return rows
      .map(toRecord)
      .filter((tool) => holdsSecretReference(secretHoldingFields(tool.config), secretName))
      .map((tool) => tool.name);
  }

  /**
   * Live agents whose draft, staging or production version names this tool or one of its
   * operations (`<tool>.<operation>`), with those names.
   */
  async agentsUsing(workspaceId: string, toolName: string): Promise<ToolUse[]> {
    const rows = await this.db
      .selectFrom('agents')
      .innerJoin('agent_versions', 'agent_versions.agent_id', 'agents.id')
      .select(['agents.slug', 'agent_versions.config'])
      .where('agents.workspace_id', '=', workspaceId)
      .where('agents.deleted_at', 'is', null)
      .where('agent_versions.config', 'like', `%"${toolName}%`)
      .where((eb) =>
        eb.or([
          eb('agent_versions.version', '=', eb.ref('agents.latest_version')),
          eb('agent_versions.version', '=', eb.ref('agents.staging_version')),
          eb('agent_versions.version', '=', eb.ref('agents.production_version')),
        ]),
      )
      .execute();
    const uses = new Map<string, Set<string>>();
    for (const row of rows) {
      const names = parseJson<{ tools: string[] }>(row.config).tools.filter(
        (name) => name === toolName || name.startsWith(`${toolName}.`),
      );
      if (names.length === 0) continue;
      const set = uses.get(row.slug) ?? new Set<string>();
      for (const name of names) set.add(name);
      uses.set(row.slug, set);
    }
    return [...uses.entries()]
      .map(([slug, names]) => ({ slug, tools: [...names].sort() }))
      .sort((left, right) => (left.slug < right.slug ? -1 : 1));
  }
}

/** Secret references live in `auth` (http) or `env` and `headers` (mcp); an OpenAPI document or a schema may hold lookalikes. */
function secretHoldingFields(config: ToolConfig): unknown {
  switch (config.kind) {
    case 'http':
      return config.auth;
    case 'mcp':
      return [config.env, config.headers];
    case 'agent':
    case 'client':
      return null;
  }
}

function holdsSecretReference(value: unknown, secretName: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some((item) => holdsSecretReference(item, secretName));
  const record = value as Record<string, unknown>;
  if (Object.keys(record).length === 1 && record.secret === secretName) return true;
  return Object.values(record).some((item) => holdsSecretReference(item, secretName));
}
