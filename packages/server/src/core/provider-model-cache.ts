import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { Provider } from '@runyard/protocol';
import { resolveModel } from '../engine/models/resolve-model.ts';
import type { SecretRecord } from '../store/repositories/secrets.ts';
import type { SecretsService } from './secrets-service.ts';

/** Models kept per provider and model id; far more than an instance's providers usually use. */
const modelCacheSize = 256;

/**
 * The AI SDK models built from providers (and the decrypted key inside each), kept while both are
 * unchanged: keyed by the provider's id and `updatedAt` and the secret's id, version and
 * fingerprint (a keyed hash of its value, never the value itself). The least recently used goes
 * first.
 */
export interface ProviderModel {
  model: LanguageModelV3;
  /** The key the model sends, so what the provider answers can be scrubbed of it. */
  apiKey: string | undefined;
}

export class ProviderModelCache {
  /** By `provider id/model id`; insertion order is recency (a hit is moved to the end). */
  private readonly models = new Map<string, ProviderModel & { revision: string }>();

  constructor(private readonly secrets: SecretsService) {}

  /** The provider's model, built anew only when the provider or its key's secret changed. */
  async model(
    workspaceId: string,
    provider: Provider,
    secret: SecretRecord | undefined,
    modelId: string,
  ): Promise<ProviderModel> {
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
      return { model: cached.model, apiKey: cached.apiKey };
    }
    const apiKey = secretName === undefined ? undefined : await this.secrets.reveal(workspaceId, secretName);
    const model = resolveModel(provider, modelId, apiKey);
    this.models.delete(cacheKey);
    this.models.set(cacheKey, { revision, model, apiKey });
    if (this.models.size > modelCacheSize) {
      const oldest = this.models.keys().next();
      if (oldest.done !== true) this.models.delete(oldest.value);
    }
    return { model, apiKey };
  }
}
