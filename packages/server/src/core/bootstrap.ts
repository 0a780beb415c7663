import fs from 'node:fs';
import path from 'node:path';
import { isUniqueViolation, type Store } from '../store/index.ts';
import { hashApiKey } from './crypto.ts';
import type { SecretBox } from './crypto.ts';
import { issueApiKey } from './api-keys-service.ts';
import { createWorkspace } from './workspaces-service.ts';

export interface BootstrapResult {
  defaultWorkspaceId: string;
  /** True only for the one start (of possibly several racing) that created the default workspace. */
  createdWorkspace: boolean;
  /** Set only when this start created the admin key: shown once, then only its hash exists. */
  createdAdminKey?: { key: string; file: string | undefined };
}

const defaultWorkspaceKey = 'default_workspace_id';
const masterKeyCheckKey = 'master_key_check';

export class MasterKeyMismatchError extends Error {}

/**
 * First start on an empty database: the default workspace (teamId 1) and an admin key. Safe when
 * several processes start at once: the loser of the race finds the winner's workspace.
 */
export async function bootstrap(
  store: Store,
  options: { dataDir: string; bootstrapKey: string | undefined; box: SecretBox },
): Promise<BootstrapResult> {
  await checkMasterKey(store, options.box);
  const existing = await store.instance.get(defaultWorkspaceKey);
  if (existing !== undefined) {
    if (options.bootstrapKey !== undefined) await ensureKey(store, existing, options.bootstrapKey);
    return { defaultWorkspaceId: existing, createdWorkspace: false };
  }
  try {
    return await store.transaction(async (transaction) => {
      const workspace = await createWorkspace(transaction, 'default');
      await transaction.instance.set(defaultWorkspaceKey, workspace.id);
      const created = await issueApiKey(transaction, {
        workspaceId: workspace.id,
        name: 'admin (bootstrap)',
        scopes: ['admin'],
        expiresAt: null,
        ...(options.bootstrapKey !== undefined && { key: options.bootstrapKey }),
      });
      const file =
        options.bootstrapKey === undefined ? writeAdminKeyFile(options.dataDir, created.key) : undefined;
      return {
        defaultWorkspaceId: workspace.id,
        createdWorkspace: true,
        createdAdminKey: { key: created.key, file },
      };
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const winner = await store.instance.get(defaultWorkspaceKey);
    if (winner === undefined) throw error;
    return { defaultWorkspaceId: winner, createdWorkspace: false };
  }
}

async function ensureKey(store: Store, workspaceId: string, key: string): Promise<void> {
  if ((await store.apiKeys.findByHash(hashApiKey(key))) !== undefined) return;
  try {
    await issueApiKey(store, {
      workspaceId,
      name: 'admin (bootstrap)',
      scopes: ['admin'],
      expiresAt: null,
      key,
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
}

async function checkMasterKey(store: Store, box: SecretBox): Promise<void> {
  const stored = await store.instance.get(masterKeyCheckKey);
  if (stored === undefined) {
    await store.instance.set(masterKeyCheckKey, box.keyCheck());
  } else if (stored !== box.keyCheck()) {
    throw new MasterKeyMismatchError(
      'the master key (RUNYARD_MASTER_KEY or <data dir>/master.key) is not the one this database was created with; secrets could not be decrypted',
    );
  }
}

function writeAdminKeyFile(dataDir: string, key: string): string {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'admin.key');
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}
