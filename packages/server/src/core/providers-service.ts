import type { CreateProvider, Provider, ProviderTestResult, UpdateProvider } from '@runyard/protocol';
import {
  isUniqueViolation,
  type NewProvider,
  type Page,
  type PageRequest,
  type Store,
} from '../store/index.ts';
import { conflict, invalidField, notFound } from '../shared/errors.ts';
import { anotherWriterWon, retryOnConflict } from '../shared/retry-on-conflict.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';
import { anthropicBaseUrl, defaultBaseUrls } from '../engine/models/resolve-model.ts';
import type { SecretsService } from './secrets-service.ts';

const testTimeoutMs = 10_000;
/** The compat_references kind of a provider's surface type (external id: the provider id). */
const providerKindReference = 'provider-kind';
/** Concurrent creates in one workspace can pick the same number; the losers try the next one. */
const maxCreateAttempts = 10;

export function playgroundProvider(createdAt: string): NewProvider {
  return {
    id: newId('provider'),
    name: 'playground',
    kind: 'playground',
    baseUrl: null,
    apiKey: null,
    models: ['playground'],
    requestsPerMinute: null,
    api: null,
    prices: {},
    builtIn: true,
    createdAt,
    updatedAt: createdAt,
  };
}

export class ProvidersService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretsService,
  ) {}

  /**
   * `surfaceKind`: the provider type a compat surface's client named (runagents' `ollama`, kept
   * as kind `openai-compatible`), stored with the provider in one transaction so the surface shows
   * it back (`surfaceKinds`). Keyed by the provider's id: a provider recreated under the same name
   * through /v1 does not inherit it.
   */
  async create(
    caller: Caller,
    input: CreateProvider,
    options: { surfaceKind?: { surface: string; kind: string } } = {},
  ): Promise<Provider> {
    const now = nowIso();
    const provider: NewProvider = {
      id: newId('provider'),
      name: input.name,
      kind: input.kind,
      baseUrl: input.baseUrl ?? null,
      apiKey: input.apiKey ?? null,
      models: input.models,
      requestsPerMinute: input.requestsPerMinute ?? null,
      api: input.api ?? (input.kind === 'openai' ? 'chat' : null),
      prices: input.prices ?? {},
      builtIn: false,
      createdAt: now,
      updatedAt: now,
      ...(input.number !== undefined && { number: input.number }),
    };
    await this.check(caller.workspaceId, provider);
    return retryOnConflict(
      { maxAttempts: maxCreateAttempts, exhausted: 'providers kept being created meanwhile; try again' },
      async () => {
        try {
          const { surfaceKind } = options;
          if (surfaceKind === undefined)
            return await this.store.providers.create(caller.workspaceId, provider);
          return await this.store.transaction(async (store) => {
            const created = await store.providers.create(caller.workspaceId, provider);
            const key = {
              workspaceId: caller.workspaceId,
              surface: surfaceKind.surface,
              kind: providerKindReference,
            };
            await store.compatReferences.insert({ ...key, externalId: created.id }, surfaceKind.kind, now);
            return created;
          });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          // The name or the number was taken: a taken name, or a number the caller chose, is the
          // caller's conflict; a number picked here is picked again.
          if ((await this.store.providers.get(caller.workspaceId, input.name)) !== undefined) {
            throw conflict(`a provider named '${input.name}' already exists`, { name: input.name });
          }
          if (input.number !== undefined) await this.assertNumberFree(caller, input.number);
          return anotherWriterWon;
        }
      },
    );
  }

  private async assertNumberFree(caller: Caller, number: number): Promise<void> {
    const holder = await this.store.providers.getByNumber(caller.workspaceId, number);
    if (holder !== undefined) {
      throw conflict(`number ${number} belongs to provider '${holder.name}'`, { number, name: holder.name });
    }
  }

  /**
   * A playground provider under another name (the runagents starter kit's `playground-llm`), which
   * the public API cannot create. Idempotent: a provider of that name is returned as it is.
   */
  async ensurePlayground(caller: Caller, name: string): Promise<{ provider: Provider; created: boolean }> {
    // The name (a concurrent request) or the number may be taken meanwhile: then look again.
    return retryOnConflict(
      {
        maxAttempts: maxCreateAttempts,
        lostRace: isUniqueViolation,
        exhausted: 'providers kept being created meanwhile; try again',
      },
      async () => {
        const existing = await this.store.providers.get(caller.workspaceId, name);
        if (existing !== undefined) return { provider: existing, created: false };
        const provider = { ...playgroundProvider(nowIso()), name, builtIn: false };
        return { provider: await this.store.providers.create(caller.workspaceId, provider), created: true };
      },
    );
  }

  /** The provider types a surface's clients named at creation (`create`'s `surfaceKind`), by provider id. */
  async surfaceKinds(
    caller: Caller,
    surface: string,
    providerIds: readonly string[],
  ): Promise<Map<string, string>> {
    return this.store.compatReferences.findMany(
      { workspaceId: caller.workspaceId, surface, kind: providerKindReference },
      providerIds,
    );
  }

  /** By its number (Make's makeConnectionId). */
  async getByNumber(caller: Caller, number: number): Promise<Provider> {
    const provider = await this.store.providers.getByNumber(caller.workspaceId, number);
    if (provider === undefined) throw notFound('provider', `#${number}`);
    return provider;
  }

  async list(caller: Caller, page: PageRequest): Promise<Page<Provider>> {
    return this.store.providers.list(caller.workspaceId, page);
  }

  async get(caller: Caller, name: string): Promise<Provider> {
    const provider = await this.store.providers.get(caller.workspaceId, name);
    if (provider === undefined) throw notFound('provider', name);
    return provider;
  }

  async update(caller: Caller, name: string, change: UpdateProvider): Promise<Provider> {
    const current = await this.get(caller, name);
    const { number, ...settings } = change;
    if (current.builtIn && Object.values(settings).some((value) => value !== undefined)) {
      throw conflict(`the built-in provider '${name}' cannot be changed (only its number)`, { name });
    }
    const next: Provider = {
      ...current,
      ...(change.baseUrl !== undefined && { baseUrl: change.baseUrl }),
      ...(change.apiKey !== undefined && { apiKey: change.apiKey }),
      ...(change.models !== undefined && { models: change.models }),
      ...(change.requestsPerMinute !== undefined && { requestsPerMinute: change.requestsPerMinute }),
      ...(change.api !== undefined && { api: change.api ?? (current.kind === 'openai' ? 'chat' : null) }),
      ...(change.prices !== undefined && { prices: change.prices }),
      ...(number !== undefined && { number }),
      updatedAt: nowIso(),
    };
    await this.check(caller.workspaceId, next);
    try {
      return await this.store.providers.replace(caller.workspaceId, next);
    } catch (error) {
      if (!isUniqueViolation(error) || number === undefined) throw error;
      await this.assertNumberFree(caller, number);
      throw conflict(`number ${number} was taken meanwhile; try again`, { number });
    }
  }

  async delete(caller: Caller, name: string): Promise<void> {
    await this.store.transaction(async (store) => {
      const current = await store.providers.get(caller.workspaceId, name);
      if (current === undefined) throw notFound('provider', name);
      if (current.builtIn) throw conflict(`the built-in provider '${name}' cannot be deleted`, { name });
      const agents = await store.agents.slugsUsingProvider(caller.workspaceId, name);
      if (agents.length > 0) throw conflict(`provider '${name}' is used by agents`, { agents });
      await store.providers.delete(caller.workspaceId, name);
    });
  }

  /** Lists the provider's models with its key: proves the address, the network path and the key. */
  async test(caller: Caller, name: string): Promise<ProviderTestResult> {
    const provider = await this.get(caller, name);
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
    if (provider.kind === 'playground') return { ok: true, latencyMs: elapsed(), models: provider.models };
    const key =
      provider.apiKey === null
        ? undefined
        : await this.secrets.reveal(caller.workspaceId, provider.apiKey.secret);
    const request = modelsRequest(provider, key);
    try {
      const response = await fetch(request.url, {
        headers: request.headers,
        signal: AbortSignal.timeout(testTimeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        const authFailed = response.status === 401 || response.status === 403;
        return {
          ok: false,
          latencyMs: elapsed(),
          error: {
            code: authFailed ? 'PROVIDER_AUTH_FAILED' : 'PROVIDER_ERROR',
            message: authFailed
              ? `the provider rejected the API key (HTTP ${response.status})`
              : `the provider answered HTTP ${response.status} for GET ${request.url}`,
            status: response.status,
          },
        };
      }
      const body = (await response.json().catch(() => ({}))) as { data?: { id?: unknown }[] };
      const models = (body.data ?? [])
        .map((model) => model.id)
        .filter((id): id is string => typeof id === 'string');
      return { ok: true, latencyMs: elapsed(), models };
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      return {
        ok: false,
        latencyMs: elapsed(),
        error: {
          code: timedOut ? 'PROVIDER_TIMEOUT' : 'PROVIDER_UNREACHABLE',
          message: timedOut
            ? `no answer from ${request.url} within ${testTimeoutMs} ms`
            : `could not reach ${request.url}: ${describeNetworkError(error)}`,
        },
      };
    }
  }

  private async check(workspaceId: string, provider: NewProvider): Promise<void> {
    if (provider.kind === 'openai-compatible' && provider.baseUrl === null) {
      throw invalidField('baseUrl', 'is required for an openai-compatible provider');
    }
    if (provider.api !== null && provider.kind !== 'openai') {
      throw invalidField('api', `is only for kind openai, not ${provider.kind}`);
    }
    if (provider.apiKey !== null && !(await this.secrets.exists(workspaceId, provider.apiKey.secret))) {
      throw invalidField(
        'apiKey.secret',
        `no secret named '${provider.apiKey.secret}' exists in this workspace`,
      );
    }
  }
}

function modelsRequest(
  provider: Provider,
  key: string | undefined,
): { url: string; headers: Record<string, string> } {
  if (provider.kind === 'anthropic') {
    return {
      url: `${anthropicBaseUrl(provider.baseUrl)}/models`,
      headers: { 'anthropic-version': '2023-06-01', ...(key !== undefined && { 'x-api-key': key }) },
    };
  }
  const base = (provider.baseUrl ?? defaultBaseUrls.openai).replace(/\/+$/, '');
  return { url: `${base}/models`, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } };
}

function describeNetworkError(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : 'unknown error');
}
