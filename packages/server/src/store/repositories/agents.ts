import { sql, type Kysely } from 'kysely';
import type { AgentConfig, AgentVersion } from '@runyard/protocol';
import type { AgentTable, AgentVersionTable, Database } from '../schema.ts';
import { paginate, parseJson, type Page, type PageRequest } from '../pagination.ts';
import { PreparedQuery } from './prepared-query.ts';

export interface AgentRow {
  id: string;
  slug: string;
  name: string;
  description: string;
  category: string | null;
  subcategory: string | null;
  tags: string[];
  status: 'active' | 'paused' | 'archived';
  metadata: Record<string, unknown>;
  latestVersion: number;
  stagingVersion: number | null;
  productionVersion: number | null;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** An agent with the configuration of its newest version. */
export interface AgentRecord extends AgentRow {
  config: AgentConfig;
}

export type DescriptiveChange = Pick<
  AgentRow,
  'name' | 'description' | 'category' | 'subcategory' | 'tags' | 'status' | 'metadata'
>;

export interface AgentFilter {
  tag?: string | undefined;
  category?: string | undefined;
  status?: string | undefined;
  search?: string | undefined;
}

const toAgentRow = (row: AgentTable): AgentRow => ({
  id: row.id,
  slug: row.slug,
  name: row.name,
  description: row.description,
  category: row.category,
  subcategory: row.subcategory,
  tags: parseJson<string[]>(row.tags),
  status: row.status as AgentRow['status'],
  metadata: parseJson<Record<string, unknown>>(row.metadata),
  latestVersion: row.latest_version,
  stagingVersion: row.staging_version,
  productionVersion: row.production_version,
  revision: row.revision,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toVersion = (row: AgentVersionTable): AgentVersion => ({
  agentId: row.agent_id,
  version: row.version,
  contentHash: row.content_hash,
  config: parseJson<AgentConfig>(row.config),
  createdAt: row.created_at,
});

const toRecord = (row: AgentTable & { config: string }): AgentRecord => ({
  ...toAgentRow(row),
  config: parseJson<AgentConfig>(row.config),
});

/** Live agents with their newest version's config. */
const selectLive = (db: Kysely<Database>, workspaceId: string) =>
  db
    .selectFrom('agents')
    .innerJoin('agent_versions', (join) =>
      join
        .onRef('agent_versions.agent_id', '=', 'agents.id')
        .onRef('agent_versions.version', '=', 'agents.latest_version'),
    )
    .selectAll('agents')
    .select('agent_versions.config')
    .where('agents.workspace_id', '=', workspaceId)
    .where('agents.deleted_at', 'is', null);

type LiveAgentRow = Parameters<typeof toRecord>[0];

/** Every run looks its agent up by id or slug (prepared-query.ts). */
const findLive = (column: 'agents.id' | 'agents.slug') =>
  new PreparedQuery<{ workspaceId: string; idOrSlug: string }, LiveAgentRow>(
    (db, argument) => selectLive(db, argument('workspaceId')).where(column, '=', argument('idOrSlug')),
    ['workspaceId', 'idOrSlug'],
  );
const findById = findLive('agents.id');
const findBySlug = findLive('agents.slug');

export class AgentRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private selectLive(workspaceId: string) {
    return selectLive(this.db, workspaceId);
  }

  async insert(workspaceId: string, agent: AgentRow): Promise<void> {
    await this.db
      .insertInto('agents')
      .values({
        id: agent.id,
        workspace_id: workspaceId,
        slug: agent.slug,
        name: agent.name,
        description: agent.description,
        category: agent.category,
        subcategory: agent.subcategory,
        tags: JSON.stringify(agent.tags),
        status: agent.status,
        metadata: JSON.stringify(agent.metadata),
        latest_version: agent.latestVersion,
        staging_version: agent.stagingVersion,
        production_version: agent.productionVersion,
        revision: agent.revision,
        created_at: agent.createdAt,
        updated_at: agent.updatedAt,
        deleted_at: null,
      })
      .execute();
    await this.replaceTags(workspaceId, agent.id, agent.tags);
  }

  async find(workspaceId: string, idOrSlug: string): Promise<AgentRecord | undefined> {
    const find = idOrSlug.startsWith('agt_') ? findById : findBySlug;
    const row = await find.executeTakeFirst(this.db, { workspaceId, idOrSlug });
    return row && toRecord(row);
  }

  async list(workspaceId: string, filter: AgentFilter, request: PageRequest): Promise<Page<AgentRecord>> {
    let query = this.selectLive(workspaceId);
    if (filter.category !== undefined) query = query.where('agents.category', '=', filter.category);
    if (filter.status !== undefined) query = query.where('agents.status', '=', filter.status);
    if (filter.search !== undefined) {
      const pattern = `%${filter.search.toLowerCase().replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
      // SQLite's LIKE has no default escape character; naming one makes both dialects agree.
      query = query.where(
        sql<boolean>`(lower(${sql.ref('agents.name')}) like ${pattern} escape '\\' or ${sql.ref('agents.slug')} like ${pattern} escape '\\')`,
      );
    }
    if (filter.tag !== undefined) {
      const tag = filter.tag;
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('agent_tags')
            .select('agent_tags.tag')
            .whereRef('agent_tags.agent_id', '=', 'agents.id')
            .where('agent_tags.tag', '=', tag),
        ),
      );
    }
    return paginate(query, 'agents.id', request, toRecord);
  }

  /** Applies a change only if nobody changed the agent since `expectedRevision`; false when stale. */
  async update(
    workspaceId: string,
    id: string,
    expectedRevision: number,
    change: Partial<DescriptiveChange> & {
      latestVersion?: number;
      stagingVersion?: number | null;
      productionVersion?: number | null;
      updatedAt: string;
    },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('agents')
      .set({
        ...(change.name !== undefined && { name: change.name }),
        ...(change.description !== undefined && { description: change.description }),
        ...(change.category !== undefined && { category: change.category }),
        ...(change.subcategory !== undefined && { subcategory: change.subcategory }),
        ...(change.tags !== undefined && { tags: JSON.stringify(change.tags) }),
        ...(change.status !== undefined && { status: change.status }),
        ...(change.metadata !== undefined && { metadata: JSON.stringify(change.metadata) }),
        ...(change.latestVersion !== undefined && { latest_version: change.latestVersion }),
        ...(change.stagingVersion !== undefined && { staging_version: change.stagingVersion }),
        ...(change.productionVersion !== undefined && { production_version: change.productionVersion }),
        updated_at: change.updatedAt,
        revision: expectedRevision + 1,
      })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('revision', '=', expectedRevision)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    if (change.tags !== undefined) await this.replaceTags(workspaceId, id, change.tags);
    return true;
  }

  async softDelete(workspaceId: string, id: string, expectedRevision: number, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('agents')
      .set({ deleted_at: at, updated_at: at, revision: expectedRevision + 1 })
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', id)
      .where('revision', '=', expectedRevision)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async insertVersion(version: AgentVersion): Promise<void> {
    await this.db
      .insertInto('agent_versions')
      .values({
        agent_id: version.agentId,
        version: version.version,
        content_hash: version.contentHash,
        model: version.config.model,
        config: JSON.stringify(version.config),
        created_at: version.createdAt,
      })
      .execute();
  }

  async listVersions(agentId: string): Promise<AgentVersion[]> {
    const rows = await this.db
      .selectFrom('agent_versions')
      .selectAll()
      .where('agent_id', '=', agentId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map(toVersion);
  }

  async getVersion(agentId: string, version: number): Promise<AgentVersion | undefined> {
    const row = await this.db
      .selectFrom('agent_versions')
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  /** Slugs of live agents whose draft, staging or production version uses a model of this provider. */
  async slugsUsingProvider(workspaceId: string, providerName: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('agents')
      .innerJoin('agent_versions', 'agent_versions.agent_id', 'agents.id')
      .select('agents.slug')
      .distinct()
      .where('agents.workspace_id', '=', workspaceId)
      .where('agents.deleted_at', 'is', null)
      .where('agent_versions.model', 'like', `${providerName}/%`)
      .where((eb) =>
        eb.or([
          eb('agent_versions.version', '=', eb.ref('agents.latest_version')),
          eb('agent_versions.version', '=', eb.ref('agents.staging_version')),
          eb('agent_versions.version', '=', eb.ref('agents.production_version')),
        ]),
      )
      .execute();
    return rows.map((row) => row.slug);
  }

  /** Slugs of live agents whose newest version reads this secret through `env`. */
  async slugsReferencingSecret(workspaceId: string, secretName: string): Promise<string[]> {
    // LIKE narrows the rows cheaply; parsing the config confirms it is a reference, not a lookalike value.
    const rows = await this.selectLive(workspaceId)
      .where('agent_versions.config', 'like', `%${JSON.stringify({ secret: secretName }).slice(1, -1)}%`)
      .execute();
    return rows
      .map(toRecord)
      .filter((agent) =>
        Object.values(agent.config.env).some(
          (value) => typeof value === 'object' && value.secret === secretName,
        ),
      )
      .map((agent) => agent.slug);
  }

  private async replaceTags(workspaceId: string, agentId: string, tags: string[]): Promise<void> {
    await this.db.deleteFrom('agent_tags').where('agent_id', '=', agentId).execute();
    if (tags.length === 0) return;
    await this.db
      .insertInto('agent_tags')
      .values(tags.map((tag) => ({ agent_id: agentId, workspace_id: workspaceId, tag })))
      .execute();
  }
}
