import type { UpdateWorkspace, Workspace } from '@runyard/protocol';
import { isUniqueViolation, type Page, type PageRequest, type Store } from '../store/index.ts';
import { RunyardError, conflict, notFound } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';
import { playgroundProvider } from './providers-service.ts';

const maxCreateAttempts = 10;

export class WorkspacesService {
  constructor(private readonly store: Store) {}

  async create(caller: Caller, name: string): Promise<Workspace> {
    if (!caller.isInstanceAdmin) {
      throw new RunyardError(
        'PERMISSION_DENIED',
        'only an admin key of the default workspace can create workspaces',
        { requiredScope: 'admin', instanceAdmin: true },
      );
    }
    // teamId is max + 1: two concurrent creations can pick the same number, and the loser retries.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await createWorkspace(this.store, name);
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= maxCreateAttempts) throw error;
      }
    }
  }

  async list(caller: Caller, page: PageRequest): Promise<Page<Workspace>> {
    return this.store.workspaces.list(page, caller.isInstanceAdmin ? undefined : caller.workspaceId);
  }

  async get(caller: Caller, id: string): Promise<Workspace> {
    const workspace =
      caller.isInstanceAdmin || id === caller.workspaceId ? await this.store.workspaces.get(id) : undefined;
    if (workspace === undefined) throw notFound('workspace', id);
    return workspace;
  }

  /**
   * Sets the Make `teamId`, so a Make client keeps its own after moving over. Only an instance
   * administrator may: team ids are unique in the instance, so a taken one (409) tells that another
   * workspace has it, which no workspace's own admin may learn.
   */
  async update(caller: Caller, id: string, change: UpdateWorkspace): Promise<Workspace> {
    const current = await this.get(caller, id);
    if (change.teamId === undefined || change.teamId === current.teamId) return current;
    if (!caller.isInstanceAdmin) {
      throw new RunyardError(
        'PERMISSION_DENIED',
        'only an admin key of the default workspace can change a teamId',
        { requiredScope: 'admin', instanceAdmin: true },
      );
    }
    try {
      const updated = await this.store.workspaces.setTeamId(id, change.teamId);
      if (updated === undefined) throw notFound('workspace', id);
      return updated;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw conflict(`teamId ${change.teamId} belongs to another workspace`, { teamId: change.teamId });
    }
  }
}

/** A workspace and its built-in playground provider, in one transaction. */
export async function createWorkspace(store: Store, name: string): Promise<Workspace> {
  return store.transaction(async (transaction) => {
    const createdAt = nowIso();
    const workspace = await transaction.workspaces.create({ id: newId('workspace'), name, createdAt });
    await transaction.providers.create(workspace.id, playgroundProvider(createdAt));
    return workspace;
  });
}
