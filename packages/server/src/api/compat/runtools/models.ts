import { modelReferenceSchema, type Provider, type ProviderKind } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';

/** runtools' "platform default" when `model` is omitted and the workspace has no default model. */
export const defaultModelReference = 'playground/playground';

/** A model id resolved to a Runyard `provider/model`, or a model no provider of the workspace serves yet. */
export type ResolvedModel =
  | { reference: string; unserved?: undefined }
  | {
      /** `<kind>/<model>`: the provider it waits for is named after the kind to add. */
      reference: string;
      unserved: { model: string; kind: Exclude<ProviderKind, 'playground'> };
    };

/**
 * A runtools model id as a Runyard `provider/model` reference:
 * - omitted: the workspace's default model, else the playground;
 * - a value with a `/` already is one (the agents service checks that the provider exists);
 * - a bare id (`claude-sonnet-4`) goes to the oldest provider that lists it in `models`, else to
 *   the oldest provider of the kind its name implies (claude-* → anthropic, gpt-*, chatgpt-* and
 *   o<digit>* → openai; an openai-compatible provider only for the ids it lists);
 * - else it is `unserved`: stored as `<kind>/<model>` (a provider named after the kind, which does
 *   not exist yet) with a warning, and its runs are refused until a provider serves it.
 * Oldest first, so adding a provider later does not change what a re-upsert resolves to.
 */
export async function resolveModelReference(
  services: Services,
  caller: Caller,
  model: string | undefined,
): Promise<ResolvedModel> {
  if (model === undefined) {
    const workspace = await services.workspaces.get(caller, caller.workspaceId);
    return { reference: workspace.defaultModel ?? defaultModelReference };
  }
  if (model.includes('/')) return { reference: parseOrThrow(modelReferenceSchema, model, 'model') };
  const providers = await allProviders(services, caller);
  const listing = providers.find((provider) => provider.models.includes(model));
  if (listing !== undefined) return { reference: `${listing.name}/${model}` };
  const kind = impliedKind(model);
  // An openai-compatible provider serves what it lists only: its kind says nothing of its models.
  const ofKind =
    kind === 'openai-compatible' ? undefined : providers.find((provider) => provider.kind === kind);
  if (ofKind !== undefined) return { reference: `${ofKind.name}/${model}` };
  return { reference: `${kind}/${model}`, unserved: { model, kind } };
}

/** What to do about a model no provider serves: which provider to add (the upsert warning, the run refusal). */
export function unservedModelAdvice(unserved: { model: string; kind: ProviderKind }): string {
  const listing =
    unserved.kind === 'openai-compatible'
      ? ` whose models list '${unserved.model}' (with its baseUrl)`
      : ` (or list '${unserved.model}' in a provider's models)`;
  return `no provider in this workspace serves '${unserved.model}': add an ${unserved.kind} provider${listing} with POST /v1/providers, then run the agent again`;
}

function impliedKind(model: string): Exclude<ProviderKind, 'playground'> {
  if (/^claude-/i.test(model)) return 'anthropic';
  if (/^(gpt-|chatgpt-|o\d)/i.test(model)) return 'openai';
  return 'openai-compatible';
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
