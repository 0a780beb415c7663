import type { CreateSecret, Secret } from '@runyard/protocol';
import {
  isUniqueViolation,
  type Page,
  type PageRequest,
  type SecretRecord,
  type Store,
} from '../store/index.ts';
import { RunyardError, conflict, notFound } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import type { SecretBox } from './crypto.ts';
import { newId } from './ids.ts';

const toSecret = ({ ciphertext: _ciphertext, ...secret }: SecretRecord): Secret => secret;

/** Associated data binds a ciphertext to its workspace and name. */
const boundTo = (workspaceId: string, name: string) => `${workspaceId}/${name}`;

export class SecretsService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
  ) {}

  async create(caller: Caller, input: CreateSecret): Promise<Secret> {
    const now = nowIso();
    try {
      const record = await this.store.secrets.create(caller.workspaceId, {
        id: newId('secret'),
        name: input.name,
        ciphertext: this.box.encrypt(input.value, boundTo(caller.workspaceId, input.name)),
        fingerprint: this.box.fingerprint(input.value),
        version: 1,
        createdAt: now,
        updatedAt: now,
      });
      return toSecret(record);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw conflict(`a secret named '${input.name}' already exists; rotate it to change its value`, {
          name: input.name,
        });
      }
      throw error;
    }
  }

  async list(caller: Caller, page: PageRequest): Promise<Page<Secret>> {
    const result = await this.store.secrets.list(caller.workspaceId, page);
    return { ...result, data: result.data.map(toSecret) };
  }

  async get(caller: Caller, name: string): Promise<Secret> {
    return toSecret(await this.require(caller.workspaceId, name));
  }

  async rotate(caller: Caller, name: string, value: string): Promise<Secret> {
    await this.require(caller.workspaceId, name);
    const record = await this.store.secrets.replaceValue(caller.workspaceId, name, {
      ciphertext: this.box.encrypt(value, boundTo(caller.workspaceId, name)),
      fingerprint: this.box.fingerprint(value),
      updatedAt: nowIso(),
    });
    if (record === undefined) throw notFound('secret', name);
    return toSecret(record);
  }

  async delete(caller: Caller, name: string): Promise<void> {
    await this.store.transaction(async (store) => {
      const providers = await store.providers.namesUsingSecret(caller.workspaceId, name);
      const agents = await store.agents.slugsReferencingSecret(caller.workspaceId, name);
      const tools = await store.tools.namesReferencingSecret(caller.workspaceId, name);
      if (providers.length > 0 || agents.length > 0 || tools.length > 0) {
        throw conflict(`secret '${name}' is still referenced`, { providers, agents, tools });
      }
      if (!(await store.secrets.delete(caller.workspaceId, name))) throw notFound('secret', name);
    });
  }

  /** The plaintext, for use inside Runyard only (model calls, tool credentials). Never returned by the API. */
  async reveal(workspaceId: string, name: string): Promise<string> {
    const record = await this.require(workspaceId, name);
    try {
      return this.box.decrypt(record.ciphertext, boundTo(workspaceId, name));
    } catch (cause) {
      throw new RunyardError('INTERNAL_ERROR', `secret '${name}' could not be decrypted`, {}, { cause });
    }
  }

  async exists(workspaceId: string, name: string): Promise<boolean> {
    return (await this.store.secrets.get(workspaceId, name)) !== undefined;
  }

  private async require(workspaceId: string, name: string): Promise<SecretRecord> {
    const record = await this.store.secrets.get(workspaceId, name);
    if (record === undefined) throw notFound('secret', name);
    return record;
  }
}
