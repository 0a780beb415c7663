import { EngineError } from '../engine/engine-error.ts';
import type { ModelCandidate } from '../engine/models/call-model.ts';
import type { Tool } from '../engine/tools/tool.ts';
import type { Store } from '../store/index.ts';
import type { ProviderWithKey } from '../store/repositories/providers.ts';
import { PoliciesService, type PolicyBinding } from './policies-service.ts';
import { ProviderModelCache } from './provider-model-cache.ts';
import { ProviderRateLimiter } from './provider-rate-limiter.ts';
import type { SecretsService } from './secrets-service.ts';
import type { ToolRegistry } from './tool-registry.ts';

/**
 * Gives the engine its models and tools: the provider by name in the run's workspace, its key
 * decrypted only when its model is built (`provider-model-cache.ts`), and the provider's
 * requestsPerMinute enforced per process (`provider-rate-limiter.ts`).
 *
 * The provider row and its key's secret row are read on every run (one statement, a join), so a
 * changed provider or key applies to the next run.
 */
export class ModelAccess {
  private readonly rateLimiter = new ProviderRateLimiter();
  private readonly models: ProviderModelCache;

  constructor(
    private readonly store: Store,
    secrets: SecretsService,
    private readonly tools: ToolRegistry,
  ) {
    this.models = new ProviderModelCache(secrets);
  }

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
      const { model, apiKey } = await this.models.model(workspaceId, provider, secret, modelId);
      candidates.push({
        reference,
        model,
        credentials: apiKey === undefined ? [] : [apiKey],
        prices: provider.prices,
        acquireSlot: (signal) =>
          perMinute === null ? Promise.resolve() : this.rateLimiter.acquire(provider.id, perMinute, signal),
      });
    }
    return candidates;
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
}
