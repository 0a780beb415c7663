import type { UpdateWorkspace, Workspace } from '@runyard/protocol';
import { isUniqueViolation, type Page, type PageRequest, type Store } from '../store/index.ts';
import { RunyardError, conflict, invalidField, notFound } from '../shared/errors.ts';
import { retryOnConflict } from '../shared/retry-on-conflict.ts';
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
    return retryOnConflict(
      {
        maxAttempts: maxCreateAttempts,
        lostRace: isUniqueViolation,
        exhausted: 'workspaces kept being created meanwhile; try again',
      },
      () => createWorkspace(this.store, name),
    );
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
   * Changes the workspace's default model (it must name a provider of the workspace, like an
   * agent's model; null unsets it) and its Make `teamId`, together. Only an instance administrator
   * may change a teamId: team ids are unique in the instance, so a taken one (409) tells that
   * another workspace has it, which no workspace's own admin may learn.
   */
  async update(caller: Caller, id: string, change: UpdateWorkspace): Promise<Workspace> {
    const current = await this.get(caller, id);
    const teamId = change.teamId === current.teamId ? undefined : change.teamId;
    if (teamId !== undefined && !caller.isInstanceAdmin) {
      throw new RunyardError(
        'PERMISSION_DENIED',
        'only an admin key of the default workspace can change a teamId',
        {
          requiredScope: 'admin',
          instanceAdmin: true,
        },
      );
    }
    const defaultModel = change.defaultModel;
    if (defaultModel !== undefined && defaultModel !== null) {
      await assertProviderExists(this.store, id, defaultModel);
    }
    if (teamId === undefined && defaultModel === undefined) return current;
    try {
      const updated = await this.store.workspaces.update(id, { teamId, defaultModel });
      if (updated === undefined) throw notFound('workspace', id);
      return updated;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw conflict(`teamId ${teamId} belongs to another workspace`, { teamId });
    }
  }

  /**
   * The starter kits' default: sets `model` only while the workspace has none, so a model the user
   * chose is never replaced. Answers the workspace's default model afterwards.
   */
  async ensureDefaultModel(caller: Caller, model: string): Promise<string> {
    await this.store.workspaces.setDefaultModelIfUnset(caller.workspaceId, model);
    return (await this.get(caller, caller.workspaceId)).defaultModel ?? model;
  }
}

async function assertProviderExists(store: Store, workspaceId: string, model: string): Promise<void> {
  const providerName = model.slice(0, model.indexOf('/'));
  if ((await store.providers.get(workspaceId, providerName)) === undefined) {
    throw invalidField('defaultModel', `no provider named '${providerName}' exists in this workspace`);
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
