import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { Provider } from '@runyard/protocol';
import { modelFetch } from './node-fetch.ts';
import { PlaygroundModel } from './playground-model.ts';

export const defaultBaseUrls = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com/v1',
} as const;

/**
 * The AI SDK model for `provider/model`. Retries are ours (see call-model.ts), so the SDK's own are
 * turned off where the provider factory takes that setting per call. Requests go through
 * node-fetch.ts (node:http keep-alive) rather than undici's fetch: the same behaviour, less CPU.
 */
export function resolveModel(
  provider: Provider,
  modelId: string,
  apiKey: string | undefined,
): LanguageModelV3 {
  switch (provider.kind) {
    case 'playground':
      return new PlaygroundModel(modelId);
    case 'openai': {
      const openai = createOpenAI({
        baseURL: provider.baseUrl ?? defaultBaseUrls.openai,
        apiKey: apiKey ?? '',
        name: provider.name,
        fetch: modelFetch,
      });
      // Chat completions unless the provider says otherwise: every OpenAI-style server speaks it.
      return provider.api === 'responses' ? openai.responses(modelId) : openai.chat(modelId);
    }
    case 'anthropic':
      return createAnthropic({
        baseURL: anthropicBaseUrl(provider.baseUrl),
        apiKey: apiKey ?? '',
        fetch: modelFetch,
      })(modelId);
    case 'openai-compatible':
      return createOpenAICompatible({
        name: provider.name,
        baseURL: provider.baseUrl ?? '',
        ...(apiKey !== undefined && { apiKey }),
        includeUsage: true,
        supportsStructuredOutputs: true,
        fetch: modelFetch,
      }).chatModel(modelId);
  }
}

/** Anthropic's SDK expects the base URL to end in /v1; users often give the bare host. */
export function anthropicBaseUrl(baseUrl: string | null): string {
  const base = (baseUrl ?? defaultBaseUrls.anthropic).replace(/\/+$/, '');
  return base.endsWith('/v1') ? base : `${base}/v1`;
}
