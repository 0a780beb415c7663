import { modelReferenceSchema, type Provider, type ProviderKind } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { RuntoolsError } from './errors.ts';

/** runtools' "platform default" when `model` is omitted: the offline playground model every workspace has. */
export const defaultModelReference = 'playground/playground';

/**
 * A runtools model id as a Runyard `provider/model` reference:
 * - a value with a `/` already is one (the agents service checks that the provider exists);
 * - a bare id (`claude-sonnet-4`) goes to the oldest provider that lists it in `models`, else to
 *   the oldest provider of the kind its name implies (claude-* → anthropic, gpt-* and o<digit>* →
 *   openai), else it is a 400 that says how to fix it.
 * Oldest first, so adding a provider later does not change what a re-upsert resolves to.
 */
export async function resolveModelReference(
  services: Services,
  caller: Caller,
  model: string | undefined,
): Promise<string> {
  if (model === undefined) return defaultModelReference;
  if (model.includes('/')) return parseOrThrow(modelReferenceSchema, model, 'model');
  const providers = await allProviders(services, caller);
  const listing = providers.find((provider) => provider.models.includes(model));
  if (listing !== undefined) return `${listing.name}/${model}`;
  const kind = impliedKind(model);
  const ofKind = kind === undefined ? undefined : providers.find((provider) => provider.kind === kind);
  if (ofKind !== undefined) return `${ofKind.name}/${model}`;
  const hint =
    kind === undefined
      ? `list '${model}' in a provider's models (PATCH /v1/providers/{name})`
      : `create a provider of kind '${kind}' (POST /v1/providers) or list '${model}' in a provider's models`;
  throw new RuntoolsError(
    400,
    'bad_request',
    `model: no provider in this workspace serves '${model}'; ${hint}, or send model as "provider/model" (e.g. "${defaultModelReference}")`,
    { issues: [{ path: 'model', message: 'no provider serves this model', code: 'invalid_value' }] },
  );
}

function impliedKind(model: string): ProviderKind | undefined {
  if (/^claude-/i.test(model)) return 'anthropic';
  if (/^(gpt-|chatgpt-|o\d)/i.test(model)) return 'openai';
  return undefined;
}

async function allProviders(services: Services, caller: Caller): Promise<Provider[]> {
  const providers: Provider[] = [];
  let cursor: string | undefined;
  do {
    const page = await services.providers.list(caller, { limit: 200, cursor });
    providers.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  // Ids sort by creation time.
  return providers.sort((left, right) => (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
}
