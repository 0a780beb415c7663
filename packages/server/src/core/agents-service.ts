import type {
  Agent,
  AgentConfig,
  AgentDiff,
  AgentVersion,
  CreateAgent,
  PromoteAgent,
  UpdateAgent,
  UpsertAgent,
  UpsertAgentResult,
} from '@runyard/protocol';
import { isUniqueViolation, type AgentRecord, type AgentRow, type Page, type Store } from '../store/index.ts';
import { RunyardError, conflict, invalidField, notFound } from '../shared/errors.ts';
import { StaleWrite, anotherWriterWon, retryOnConflict } from '../shared/retry-on-conflict.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';
import { assertValidOutputSchema, contentHash, diffConfigs, normalizeConfig } from './agent-config.ts';
import type { SecretsService } from './secrets-service.ts';
import { unknownToolsError, unknownToolNames } from './tool-registry.ts';
import { PoliciesService } from './policies-service.ts';

export interface AgentListRequest {
  limit: number;
  cursor?: string | undefined;
  tag?: string | undefined;
  category?: string | undefined;
  status?: string | undefined;
  search?: string | undefined;
}

/** Without If-Match, a write that loses a race to another writer is re-applied on the fresh state. */
const maxWriteAttempts = 25;
const agentKeptChanging = 'the agent kept changing; try again';

export function etagOf(agent: Pick<AgentRow, 'id' | 'revision'>): string {
  return `"${agent.id}.${agent.revision}"`;
}

export function toAgent(record: AgentRecord): Agent {
  return {
    id: record.id,
    slug: record.slug,
    name: record.name,
    description: record.description,
    category: record.category,
    subcategory: record.subcategory,
    tags: record.tags,
    status: record.status,
    metadata: record.metadata,
    ...record.config,
    version: record.latestVersion,
    environments: {
      draft: record.latestVersion,
      staging: record.stagingVersion,
      production: record.productionVersion,
    },
    etag: etagOf(record),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

type Replacement = Omit<UpsertAgent, 'slug'> & { model: string; name: string };

export interface AgentWriteOptions {
  /**
   * Store a model whose provider does not exist yet (a compat surface's upsert of a model no
   * provider serves: runtools). Its runs fail at once with PROVIDER_ERROR naming the provider, until
   * a provider of that name exists or the model is changed. Everything else is checked as always.
   */
  allowUnknownProvider?: boolean;
}

export class AgentsService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretsService,
  ) {}

  /** `promoteToProduction` creates version 1 already promoted, in the same transaction. */
  async create(
    caller: Caller,
    input: CreateAgent,
    options: { promoteToProduction?: boolean } & AgentWriteOptions = {},
  ): Promise<Agent> {
    const config = normalizeConfig(input);
    await this.checkConfig(caller.workspaceId, config, options);
    const now = nowIso();
    const row: AgentRow = {
      id: newId('agent'),
      slug: input.slug,
      name: input.name,
      description: input.description ?? '',
      category: input.category ?? null,
      subcategory: input.subcategory ?? null,
      tags: input.tags ?? [],
      status: input.status ?? 'active',
      metadata: input.metadata ?? {},
      latestVersion: 1,
      stagingVersion: null,
      productionVersion: options.promoteToProduction === true ? 1 : null,
      revision: 1,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.transaction(async (store) => {
        await store.agents.insert(caller.workspaceId, row);
        await store.agents.insertVersion({
          agentId: row.id,
          version: 1,
          contentHash: contentHash(config),
          config,
          createdAt: now,
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw conflict(`an agent with slug '${input.slug}' already exists`, { slug: input.slug });
      }
      throw error;
    }
    return toAgent({ ...row, config });
  }

  async list(caller: Caller, request: AgentListRequest): Promise<Page<Agent>> {
    const page = await this.store.agents.list(caller.workspaceId, request, request);
    return { ...page, data: page.data.map(toAgent) };
  }

  async get(caller: Caller, idOrSlug: string): Promise<Agent> {
    return toAgent(await this.require(caller.workspaceId, idOrSlug));
  }

  async update(caller: Caller, idOrSlug: string, change: UpdateAgent, ifMatch?: string): Promise<Agent> {
    return this.write(caller, idOrSlug, ifMatch, (current) => ({
      name: current.name,
      description: current.description,
      category: current.category ?? undefined,
      subcategory: current.subcategory ?? undefined,
      tags: current.tags,
      status: current.status,
      metadata: current.metadata,
      ...current.config,
      ...withoutUndefined(change),
    }));
  }

  /** PUT semantics: the body is the whole agent; omitted optional fields return to their defaults. */
  async upsert(
    caller: Caller,
    slug: string,
    input: UpsertAgent,
    ifMatch?: string,
    options: AgentWriteOptions = {},
  ): Promise<UpsertAgentResult> {
    if (input.slug !== undefined && input.slug !== slug) {
      throw invalidField('slug', `must equal the slug in the path ('${slug}') when given`);
    }
    const replacement: Replacement = { ...input, slug: undefined } as Replacement;
    return retryOnConflict({ maxAttempts: maxWriteAttempts, exhausted: agentKeptChanging }, async () => {
      const existing = await this.store.agents.find(caller.workspaceId, slug);
      if (existing === undefined) {
        if (ifMatch !== undefined) throw preconditionFailed(ifMatch, 'the agent does not exist');
        try {
          return { action: 'created', agent: await this.create(caller, { ...replacement, slug }, options) };
        } catch (error) {
          // Another request created it meanwhile: update it instead.
          if (error instanceof RunyardError && error.code === 'CONFLICT') return anotherWriterWon;
          throw error;
        }
      }
      const before = existing.revision;
      const agent = await this.write(caller, existing.id, ifMatch, () => replacement, options);
      return {
        action: agent.etag === etagOf({ id: existing.id, revision: before }) ? 'unchanged' : 'updated',
        agent,
      };
    });
  }

  async delete(caller: Caller, idOrSlug: string, ifMatch?: string): Promise<void> {
    await retryOnConflict({ maxAttempts: maxWriteAttempts, exhausted: agentKeptChanging }, async () => {
      const current = await this.require(caller.workspaceId, idOrSlug);
      if (ifMatch !== undefined && ifMatch !== etagOf(current))
        throw preconditionFailed(ifMatch, etagOf(current));
      // The agent's memory notes (the `memory` built-in) go with it, in the same transaction.
      const deleted = await this.store.transaction(async (store) => {
        if (!(await store.agents.softDelete(caller.workspaceId, current.id, current.revision, nowIso())))
          return false;
        await store.agentMemory.deleteAgent(caller.workspaceId, current.id);
        return true;
      });
      if (deleted) return true;
      if (ifMatch !== undefined) throw preconditionFailed(ifMatch, 'changed');
      return anotherWriterWon;
    });
  }

  async listVersions(caller: Caller, idOrSlug: string): Promise<AgentVersion[]> {
    const agent = await this.require(caller.workspaceId, idOrSlug);
    return this.store.agents.listVersions(agent.id);
  }

  async getVersion(caller: Caller, idOrSlug: string, version: number): Promise<AgentVersion> {
    const agent = await this.require(caller.workspaceId, idOrSlug);
    // Versions run 1..latestVersion; a larger number (even beyond PostgreSQL's integer) is simply absent.
    const found =
      version > agent.latestVersion ? undefined : await this.store.agents.getVersion(agent.id, version);
    if (found === undefined) throw notFound('agent version', `${agent.slug}@${version}`);
    return found;
  }

  async diff(caller: Caller, idOrSlug: string, from: number, to: number): Promise<AgentDiff> {
    const before = await this.getVersion(caller, idOrSlug, from);
    const after = await this.getVersion(caller, idOrSlug, to);
    return diffConfigs(from, before.config, to, after.config);
  }

  async promote(caller: Caller, idOrSlug: string, input: PromoteAgent): Promise<Agent> {
    return retryOnConflict({ maxAttempts: maxWriteAttempts, exhausted: agentKeptChanging }, async () => {
      const current = await this.require(caller.workspaceId, idOrSlug);
      if (input.version > current.latestVersion) {
        throw invalidField(
          'version',
          `agent '${current.slug}' has no version ${input.version} (newest: ${current.latestVersion})`,
        );
      }
      const field = input.environment === 'staging' ? 'stagingVersion' : 'productionVersion';
      if (current[field] === input.version) return toAgent(current);
      const updatedAt = nowIso();
      if (
        await this.store.agents.update(caller.workspaceId, current.id, current.revision, {
          [field]: input.version,
          updatedAt,
        })
      ) {
        return toAgent({ ...current, [field]: input.version, revision: current.revision + 1, updatedAt });
      }
      return anotherWriterWon;
    });
  }

  /**
   * Read, compute the next state, write it if nobody wrote in between. A behaviour change adds a
   * version in the same transaction; a descriptive-only change does not.
   */
  private async write(
    caller: Caller,
    idOrSlug: string,
    ifMatch: string | undefined,
    next: (current: AgentRecord) => Replacement,
    options: AgentWriteOptions = {},
  ): Promise<Agent> {
    return retryOnConflict({ maxAttempts: maxWriteAttempts, exhausted: agentKeptChanging }, async () => {
      const current = await this.require(caller.workspaceId, idOrSlug);
      if (ifMatch !== undefined && ifMatch !== etagOf(current))
        throw preconditionFailed(ifMatch, etagOf(current));
      const wanted = next(current);
      const config = normalizeConfig(wanted);
      const descriptive = {
        name: wanted.name,
        description: wanted.description ?? '',
        category: wanted.category ?? null,
        subcategory: wanted.subcategory ?? null,
        tags: wanted.tags ?? [],
        status: wanted.status ?? 'active',
        metadata: wanted.metadata ?? {},
      };
      const behaviourChanged = contentHash(config) !== contentHash(current.config);
      const descriptiveChanged = (Object.keys(descriptive) as (keyof typeof descriptive)[]).some(
        (key) => JSON.stringify(descriptive[key]) !== JSON.stringify(current[key]),
      );
      if (!behaviourChanged && !descriptiveChanged) return toAgent(current);
      if (behaviourChanged) await this.checkConfig(caller.workspaceId, config, options);

      const updatedAt = nowIso();
      const latestVersion = behaviourChanged ? current.latestVersion + 1 : current.latestVersion;
      const written = await this.store
        .transaction(async (store) => {
          if (behaviourChanged) {
            await store.agents.insertVersion({
              agentId: current.id,
              version: latestVersion,
              contentHash: contentHash(config),
              config,
              createdAt: updatedAt,
            });
          }
          const applied = await store.agents.update(caller.workspaceId, current.id, current.revision, {
            ...descriptive,
            latestVersion,
            updatedAt,
          });
          // Roll the version back with the transaction when another writer won.
          if (!applied) throw new StaleWrite();
        })
        .then(
          () => true,
          (error: unknown) => {
            if (error instanceof StaleWrite || isUniqueViolation(error)) return false;
            throw error;
          },
        );
      if (written) {
        return toAgent({
          ...current,
          ...descriptive,
          config,
          latestVersion,
          revision: current.revision + 1,
          updatedAt,
        });
      }
      if (ifMatch !== undefined) throw preconditionFailed(ifMatch, 'changed');
      return anotherWriterWon;
    });
  }

  private async require(workspaceId: string, idOrSlug: string): Promise<AgentRecord> {
    const agent = await this.store.agents.find(workspaceId, idOrSlug);
    if (agent === undefined) throw notFound('agent', idOrSlug);
    return agent;
  }

  private async checkConfig(
    workspaceId: string,
    config: AgentConfig,
    options: AgentWriteOptions = {},
  ): Promise<void> {
    const providerName = config.model.slice(0, config.model.indexOf('/'));
    const unknownProvider = (await this.store.providers.get(workspaceId, providerName)) === undefined;
    if (unknownProvider && options.allowUnknownProvider !== true) {
      throw invalidField('model', `no provider named '${providerName}' exists in this workspace`);
    }
    assertValidOutputSchema(config.outputSchema);
    const unknownTools = await unknownToolNames(this.store, workspaceId, config.tools);
    if (unknownTools.length > 0) throw unknownToolsError(unknownTools);
    await new PoliciesService(this.store).assertExist(workspaceId, config.policies, 'policies');
    for (const [name, value] of Object.entries(config.env)) {
      if (typeof value === 'object' && !(await this.secrets.exists(workspaceId, value.secret))) {
        throw invalidField(
          `env.${name}.secret`,
          `no secret named '${value.secret}' exists in this workspace`,
        );
      }
    }
  }
}

function preconditionFailed(sent: string, current: string): RunyardError {
  return new RunyardError(
    'PRECONDITION_FAILED',
    'the agent changed since it was read (If-Match does not match)',
    {
      ifMatch: sent,
      current,
    },
  );
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}
