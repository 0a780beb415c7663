import type { Workspace } from '@runyard/protocol';
import { isUniqueViolation, type Page, type PageRequest, type Store } from '../store/index.ts';
import { RunyardError, notFound } from '../shared/errors.ts';
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
