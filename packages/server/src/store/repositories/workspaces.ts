import type { Kysely } from 'kysely';
import type { Workspace } from '@runyard/protocol';
import type { Database, WorkspaceTable } from '../schema.ts';
import { nextNumber } from '../next-number.ts';
import { paginate, type Page, type PageRequest } from '../pagination.ts';

const toWorkspace = (row: WorkspaceTable): Workspace => ({
  id: row.id,
  name: row.name,
  teamId: row.team_id,
  defaultModel: row.default_model,
  createdAt: row.created_at,
});

export class WorkspaceRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** teamId is the next free integer (next-number.ts); the unique constraint turns a concurrent duplicate into a retryable conflict. */
  async create(input: { id: string; name: string; createdAt: string }): Promise<Workspace> {
    const row: WorkspaceTable = {
      id: input.id,
      name: input.name,
      team_id: await nextNumber(this.db, 'workspaces', 'team_id'),
      default_model: null,
      created_at: input.createdAt,
    };
    await this.db.insertInto('workspaces').values(row).execute();
    return toWorkspace(row);
  }

  async get(id: string): Promise<Workspace | undefined> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWorkspace(row);
  }

  /**
   * Sets what `change` names in one statement; undefined when no such workspace. A teamId another
   * workspace has fails as a unique violation.
   */
  async update(
    id: string,
    change: { teamId?: number; defaultModel?: string | null },
  ): Promise<Workspace | undefined> {
    const set = {
      ...(change.teamId !== undefined && { team_id: change.teamId }),
      ...(change.defaultModel !== undefined && { default_model: change.defaultModel }),
    };
    if (Object.keys(set).length > 0) {
      await this.db.updateTable('workspaces').set(set).where('id', '=', id).execute();
    }
    return this.get(id);
  }

  /** Sets the default model only while none is set (the starter kits); false when one was. */
  async setDefaultModelIfUnset(id: string, defaultModel: string): Promise<boolean> {
    const result = await this.db
      .updateTable('workspaces')
      .set({ default_model: defaultModel })
      .where('id', '=', id)
      .where('default_model', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async first(): Promise<Workspace | undefined> {
    const row = await this.db
      .selectFrom('workspaces')
      .selectAll()
      .orderBy('team_id')
      .limit(1)
      .executeTakeFirst();
    return row && toWorkspace(row);
  }

  async list(request: PageRequest, onlyId?: string): Promise<Page<Workspace>> {
    let query = this.db.selectFrom('workspaces').selectAll();
    if (onlyId !== undefined) query = query.where('id', '=', onlyId);
    return paginate(query, 'id', request, toWorkspace);
  }
}
