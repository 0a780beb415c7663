import type { Usage } from '@runyard/protocol';
import builtInPrices from './prices.json' with { type: 'json' };

/** What a model costs, in US dollars per million tokens. */
export interface ModelPrice {
  inputPerMillionUsd: number;
  outputPerMillionUsd: number;
}

/** Prices a provider sets for its models (keys are model names); they win over the built-in table. */
export type PriceOverrides = Readonly<Record<string, ModelPrice>>;

export interface Cost {
  costUsd: number;
  /** False when the model has no price: its cost counts as 0 and the run's cost is incomplete. */
  known: boolean;
}

/** Built-in list prices of common OpenAI and Anthropic models, keyed by model name. */
export const knownPrices: PriceOverrides = builtInPrices;

/**
 * The price of `modelId`: an exact name first, then the longest known name that the id extends by a
 * `-` suffix, so dated variants (`gpt-4o-2024-08-06`, `claude-sonnet-4-20250514`) and aliases
 * (`claude-3-5-haiku-latest`) share their model's price. A suffix that starts with a short number
 * (`claude-opus-4-6`, `claude-sonnet-4-5`) names another model version, whose price may differ: it
 * does not match, and the model is unknown rather than mispriced. An id qualified by a provider
 * (`openai/gpt-4o`, as gateways name models) falls back to the part after the last `/`.
 */
export function priceOf(modelId: string, overrides?: PriceOverrides): ModelPrice | undefined {
  const table = overrides === undefined ? builtInTable : withOverrides(overrides);
  const name = modelId.toLowerCase();
  const slash = name.lastIndexOf('/');
  return lookUp(table, name) ?? (slash === -1 ? undefined : lookUp(table, name.slice(slash + 1)));
}

const builtInTable = withOverrides({});

/** The built-in table with `overrides` laid over it; names compare case-insensitively. */
function withOverrides(overrides: PriceOverrides): ReadonlyMap<string, ModelPrice> {
  const table = new Map<string, ModelPrice>();
  for (const [name, price] of Object.entries(knownPrices)) table.set(name.toLowerCase(), price);
  for (const [name, price] of Object.entries(overrides)) table.set(name.toLowerCase(), price);
  return table;
}

function lookUp(table: ReadonlyMap<string, ModelPrice>, name: string): ModelPrice | undefined {
  const exact = table.get(name);
  if (exact !== undefined) return exact;
  let best: { length: number; price: ModelPrice } | undefined;
  for (const [known, price] of table) {
    if (known.length <= (best?.length ?? 0) || !isVariantOf(name, known)) continue;
    best = { length: known.length, price };
  }
  return best?.price;
}

/** Whether `name` is `known` plus a `-` suffix that is not a new version number. */
function isVariantOf(name: string, known: string): boolean {
  if (!name.startsWith(`${known}-`)) return false;
  const firstSegment = name.slice(known.length + 1).split('-')[0] ?? '';
  return !/^\d{1,2}$/.test(firstSegment);
}

/** The cost of `usage` at `price`, rounded to 1e-9 USD so that sums of floats stay stable. */
export function costOf(
  usage: { inputTokens: number; outputTokens: number },
  price: ModelPrice | undefined,
): Cost {
  if (price === undefined) return { costUsd: 0, known: false };
  const costUsd =
    (usage.inputTokens * price.inputPerMillionUsd + usage.outputTokens * price.outputPerMillionUsd) /
    1_000_000;
  return { costUsd: roundUsd(costUsd), known: true };
}

/** Rounds to a billionth of a dollar (amounts are far below 2^53 billionths). */
export function roundUsd(amount: number): number {
  return Math.round(amount * 1e9) / 1e9;
}

/** The cost of `usage` for a `provider/model` reference. */
export type CostFunction = (modelReference: string, usage: Usage) => Cost;

/**
 * A cost function that prices a provider's models with that provider's own prices laid over the
 * built-in table (matched like the table, see `priceOf`), and any other provider's with `fallback`.
 */
export function withProviderPrices(
  fallback: CostFunction,
  pricesByProvider: ReadonlyMap<string, PriceOverrides>,
): CostFunction {
  return (reference, usage) => {
    const slash = reference.indexOf('/');
    const overrides = pricesByProvider.get(reference.slice(0, slash));
    if (overrides === undefined || Object.keys(overrides).length === 0) return fallback(reference, usage);
    return costOf(usage, priceOf(reference.slice(slash + 1), overrides));
  };
}

/**
 * The price overrides of the providers of `candidates`, by provider name: read with their models,
 * so a run reads each provider once.
 */
export function pricesOfCandidates(
  candidates: readonly { reference: string; prices?: PriceOverrides | undefined }[],
): Map<string, PriceOverrides> {
  const prices = new Map<string, PriceOverrides>();
  for (const { reference, prices: overrides } of candidates) {
    const name = reference.slice(0, reference.indexOf('/'));
    if (overrides !== undefined && !prices.has(name)) prices.set(name, overrides);
  }
  return prices;
}
