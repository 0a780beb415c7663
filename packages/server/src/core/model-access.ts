import { EngineError } from '../engine/engine-error.ts';
import type { ModelCandidate } from '../engine/models/call-model.ts';
import { resolveModel } from '../engine/models/resolve-model.ts';
import type { Tool } from '../engine/tools/tool.ts';
import type { Store } from '../store/index.ts';
import type { ProviderWithKey } from '../store/repositories/providers.ts';
import type { SecretRecord } from '../store/repositories/secrets.ts';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { Provider } from '@runyard/protocol';
import { PoliciesService, type PolicyBinding } from './policies-service.ts';
import type { SecretsService } from './secrets-service.ts';
import type { ToolRegistry } from './tool-registry.ts';

/** Models kept per provider and model id; far more than an instance's providers usually use. */
const modelCacheSize = 256;

/**
 * Gives the engine its models: the provider by name in the run's workspace, its key decrypted only
 * here, and the provider's requestsPerMinute enforced per process.
 *
 * The provider row and its key's secret row are read on every run (one statement, a join), so a
 * changed provider or key applies to the next run; the AI SDK model built from them (and the decrypted key inside it) is
 * kept while both are unchanged: keyed by the provider's id and `updatedAt` and the secret's id,
 * version and fingerprint (a keyed hash of its value, never the value itself).
 */
export class ModelAccess {
  private readonly windows = new Map<string, number[]>();
  /** By `provider id/model id`; insertion order is recency (a hit is moved to the end). */
  private readonly models = new Map<string, { revision: string; model: LanguageModelV3 }>();

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretsService,
    private readonly tools: ToolRegistry,
  ) {}

  async resolveModels(workspaceId: string, references: readonly string[]): Promise<ModelCandidate[]> {
    const candidates: ModelCandidate[] = [];
    const providers = new Map<string, Promise<ProviderWithKey | undefined>>();
    for (const reference of references) {
      const slash = reference.indexOf('/');
      const providerName = reference.slice(0, slash);
      const modelId = reference.slice(slash + 1);
      // A fallback on the same provider reuses the rows read for the first model.
      let read = providers.get(providerName);
      if (read === undefined) {
        read = this.store.providers.getWithKey(workspaceId, providerName);
        providers.set(providerName, read);
      }
      const found = await read;
      if (found === undefined) {
        throw new EngineError(
          'PROVIDER_ERROR',
          `no provider named '${providerName}' exists in this workspace`,
        );
      }
      const { provider, secret } = found;
      const perMinute = provider.requestsPerMinute;
      candidates.push({
        reference,
        model: await this.model(workspaceId, provider, secret, modelId),
        prices: provider.prices,
        acquireSlot: (signal) =>
          perMinute === null ? Promise.resolve() : this.acquire(provider.id, perMinute, signal),
      });
    }
    return candidates;
  }

  /** The provider's model, built anew only when the provider or its key's secret changed. */
  private async model(
    workspaceId: string,
    provider: Provider,
    secret: SecretRecord | undefined,
    modelId: string,
  ): Promise<LanguageModelV3> {
    const secretName = provider.apiKey?.secret;
    const cacheKey = `${provider.id}/${modelId}`;
    const revision = `${provider.updatedAt}|${secret === undefined ? '' : `${secret.id}|${secret.version}|${secret.fingerprint}|${secret.updatedAt}`}`;
    const cached = this.models.get(cacheKey);
    // A key whose secret is gone is never served from the cache: `reveal` below fails as before.
    if (
      cached !== undefined &&
      cached.revision === revision &&
      (secretName === undefined || secret !== undefined)
    ) {
      this.models.delete(cacheKey);
      this.models.set(cacheKey, cached);
      return cached.model;
    }
    const apiKey = secretName === undefined ? undefined : await this.secrets.reveal(workspaceId, secretName);
    const model = resolveModel(provider, modelId, apiKey);
    this.models.delete(cacheKey);
    this.models.set(cacheKey, { revision, model });
    if (this.models.size > modelCacheSize) {
      const oldest = this.models.keys().next();
      if (oldest.done !== true) this.models.delete(oldest.value);
    }
    return model;
  }

  /** Built-in and registry tools by name; an http tool reads its credentials only when it is called. */
  async resolveTools(
    workspaceId: string,
    names: readonly string[],
    binding: PolicyBinding = { policies: [], agentId: null },
  ): Promise<Map<string, Tool>> {
    // Every tool runs under the bound egress policies (none bound: network tools send nothing).
    return new PoliciesService(this.store).enforce(
      workspaceId,
      await this.tools.resolve(workspaceId, names),
      binding,
    );
  }

  /** A sliding one-minute window of request starts per provider. */
  private async acquire(providerId: string, perMinute: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const now = Date.now();
      const starts = (this.windows.get(providerId) ?? []).filter((at) => now - at < 60_000);
      if (starts.length < perMinute) {
        starts.push(now);
        this.windows.set(providerId, starts);
        return;
      }
      this.windows.set(providerId, starts);
      const waitMs = 60_000 - (now - (starts[0] ?? now)) + 1;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, waitMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason as Error);
          },
          { once: true },
        );
      });
    }
  }
}
