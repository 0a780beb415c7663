import { EngineError } from '../engine/engine-error.ts';
import type { ModelCandidate } from '../engine/models/call-model.ts';
import { resolveModel } from '../engine/models/resolve-model.ts';
import type { Tool } from '../engine/tools/tool.ts';
import type { Store } from '../store/index.ts';
import type { SecretsService } from './secrets-service.ts';
import type { ToolRegistry } from './tool-registry.ts';

/**
 * Gives the engine its models: the provider by name in the run's workspace, its key decrypted only
 * here, and the provider's requestsPerMinute enforced per process.
 */
export class ModelAccess {
  private readonly windows = new Map<string, number[]>();

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretsService,
    private readonly tools: ToolRegistry,
  ) {}

  async resolveModels(workspaceId: string, references: readonly string[]): Promise<ModelCandidate[]> {
    const candidates: ModelCandidate[] = [];
    for (const reference of references) {
      const slash = reference.indexOf('/');
      const providerName = reference.slice(0, slash);
      const modelId = reference.slice(slash + 1);
      const provider = await this.store.providers.get(workspaceId, providerName);
      if (provider === undefined) {
        throw new EngineError(
          'PROVIDER_ERROR',
          `no provider named '${providerName}' exists in this workspace`,
        );
      }
      const apiKey =
        provider.apiKey === null ? undefined : await this.secrets.reveal(workspaceId, provider.apiKey.secret);
      const perMinute = provider.requestsPerMinute;
      candidates.push({
        reference,
        model: resolveModel(provider, modelId, apiKey),
        acquireSlot: (signal) =>
          perMinute === null ? Promise.resolve() : this.acquire(provider.id, perMinute, signal),
      });
    }
    return candidates;
  }

  /** Built-in and registry tools by name; an http tool reads its credentials only when it is called. */
  resolveTools(workspaceId: string, names: readonly string[]): Promise<Map<string, Tool>> {
    return this.tools.resolve(workspaceId, names);
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
