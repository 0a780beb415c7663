import type { UpdateWorkspace, Workspace } from '@runyard/protocol';
import { isUniqueViolation, type Page, type PageRequest, type Store } from '../store/index.ts';
import { RunyardError, invalidField, notFound } from '../shared/errors.ts';
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

  /** `defaultModel` must name a provider of the workspace (like an agent's model); null unsets it. */
  async update(caller: Caller, id: string, change: UpdateWorkspace): Promise<Workspace> {
    const current = await this.get(caller, id);
    if (change.defaultModel !== undefined) {
      if (change.defaultModel !== null) await assertProviderExists(this.store, id, change.defaultModel);
      if (!(await this.store.workspaces.setDefaultModel(id, change.defaultModel)))
        throw notFound('workspace', id);
    }
    return { ...current, ...(change.defaultModel !== undefined && { defaultModel: change.defaultModel }) };
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
