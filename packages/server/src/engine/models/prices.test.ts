import { describe, expect, it } from 'vitest';
import {
  costOf,
  knownPrices,
  priceOf,
  roundUsd,
  withProviderPrices,
  type CostFunction,
  type PriceOverrides,
} from './prices.ts';

describe('the price table', () => {
  it('prices the common OpenAI and Anthropic models and the playground', () => {
    const expected = [
      'playground',
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-4.1',
      'gpt-4.1-mini',
      'gpt-4.1-nano',
      'o3',
      'o4-mini',
      'gpt-5',
      'gpt-5-mini',
      'claude-sonnet-4',
      'claude-opus-4',
      'claude-3-5-haiku',
    ];
    for (const model of expected) expect(knownPrices, model).toHaveProperty([model]);
    expect(priceOf('playground')).toEqual({ inputPerMillionUsd: 0, outputPerMillionUsd: 0 });
  });

  it('holds finite, non-negative prices under lower-case names', () => {
    for (const [name, price] of Object.entries(knownPrices)) {
      expect(name).toBe(name.toLowerCase());
      expect(Object.keys(price).sort()).toEqual(['inputPerMillionUsd', 'outputPerMillionUsd']);
      for (const value of Object.values(price)) {
        expect(Number.isFinite(value) && value >= 0, `${name}: ${value}`).toBe(true);
      }
    }
  });
});

describe('priceOf', () => {
  it('matches exact names first', () => {
    expect(priceOf('gpt-4o')).toEqual({ inputPerMillionUsd: 2.5, outputPerMillionUsd: 10 });
    expect(priceOf('gpt-4o-mini')).toEqual({ inputPerMillionUsd: 0.15, outputPerMillionUsd: 0.6 });
    expect(priceOf('GPT-4o')).toEqual(priceOf('gpt-4o'));
  });

  it('gives dated variants and aliases the price of the longest known name they extend', () => {
    expect(priceOf('gpt-4o-2024-08-06')).toEqual(priceOf('gpt-4o'));
    expect(priceOf('gpt-4o-mini-2024-07-18')).toEqual(priceOf('gpt-4o-mini'));
    expect(priceOf('gpt-4.1-nano-2025-04-14')).toEqual(priceOf('gpt-4.1-nano'));
    expect(priceOf('claude-sonnet-4-20250514')).toEqual(priceOf('claude-sonnet-4'));
    expect(priceOf('claude-3-5-haiku-latest')).toEqual(priceOf('claude-3-5-haiku'));
    expect(priceOf('o3-mini-2025-01-31')).toEqual(priceOf('o3-mini'));
    expect(priceOf('o3-mini')).not.toEqual(priceOf('o3'));
  });

  it('does not stretch a name to another model', () => {
    // Not a `-` suffix: another model.
    expect(priceOf('gpt-4.1')).not.toEqual(priceOf('gpt-4'));
    expect(priceOf('gpt-4o-something')).toEqual(priceOf('gpt-4o'));
    expect(priceOf('gpt-4omni')).toBeUndefined();
    expect(priceOf('o30')).toBeUndefined();
    // A short number after the name is a new version, which may cost something else.
    expect(priceOf('claude-opus-4-7')).toBeUndefined();
    expect(priceOf('claude-opus-4-7-20260101')).toBeUndefined();
    expect(priceOf('gpt-5')).toBeDefined();
  });

  it('knows nothing of unknown models', () => {
    expect(priceOf('llama-3.1-70b')).toBeUndefined();
    expect(priceOf('')).toBeUndefined();
  });

  it('falls back to the model after a provider qualifier', () => {
    expect(priceOf('openai/gpt-4o-2024-08-06')).toEqual(priceOf('gpt-4o'));
    expect(priceOf('anthropic/claude-opus-4')).toEqual(priceOf('claude-opus-4'));
    expect(priceOf('meta/llama-3')).toBeUndefined();
  });

  it('lets a provider override or add prices, matched the same way', () => {
    const overrides = {
      'gpt-4o': { inputPerMillionUsd: 1, outputPerMillionUsd: 2 },
      'my-model': { inputPerMillionUsd: 0.5, outputPerMillionUsd: 0.75 },
    };
    expect(priceOf('gpt-4o', overrides)).toEqual({ inputPerMillionUsd: 1, outputPerMillionUsd: 2 });
    expect(priceOf('gpt-4o-2024-08-06', overrides)).toEqual({
      inputPerMillionUsd: 1,
      outputPerMillionUsd: 2,
    });
    // The longer built-in name is more specific than the overridden shorter one.
    expect(priceOf('gpt-4o-mini', overrides)).toEqual(priceOf('gpt-4o-mini'));
    expect(priceOf('my-model', overrides)).toEqual({ inputPerMillionUsd: 0.5, outputPerMillionUsd: 0.75 });
    expect(priceOf('my-model-v2', overrides)).toEqual({ inputPerMillionUsd: 0.5, outputPerMillionUsd: 0.75 });
    expect(priceOf('my-model')).toBeUndefined();
    expect(priceOf('gpt-4o')).toEqual({ inputPerMillionUsd: 2.5, outputPerMillionUsd: 10 });
  });
});

describe('costOf', () => {
  it('charges input and output tokens at their price per million', () => {
    const price = { inputPerMillionUsd: 2.5, outputPerMillionUsd: 10 };
    expect(costOf({ inputTokens: 1_000_000, outputTokens: 0 }, price)).toEqual({ costUsd: 2.5, known: true });
    expect(costOf({ inputTokens: 1000, outputTokens: 500 }, price)).toEqual({ costUsd: 0.0075, known: true });
    expect(costOf({ inputTokens: 0, outputTokens: 0 }, price)).toEqual({ costUsd: 0, known: true });
  });

  it('rounds to a billionth of a dollar', () => {
    const price = { inputPerMillionUsd: 0.15, outputPerMillionUsd: 0.6 };
    const { costUsd } = costOf({ inputTokens: 7, outputTokens: 3 }, price);
    expect(costUsd).toBe(0.00000285);
    expect(
      costOf({ inputTokens: 1, outputTokens: 0 }, { inputPerMillionUsd: 0.0001, outputPerMillionUsd: 0 }),
    ).toEqual({ costUsd: 0, known: true });
    expect(roundUsd(0.1 + 0.2)).toBe(0.3);
  });

  it('costs the playground nothing, known', () => {
    expect(costOf({ inputTokens: 12_345, outputTokens: 678 }, priceOf('playground'))).toEqual({
      costUsd: 0,
      known: true,
    });
  });

  it('costs an unknown model nothing and says so', () => {
    expect(costOf({ inputTokens: 1000, outputTokens: 1000 }, undefined)).toEqual({
      costUsd: 0,
      known: false,
    });
    expect(costOf({ inputTokens: 1000, outputTokens: 1000 }, priceOf('no-such-model'))).toEqual({
      costUsd: 0,
      known: false,
    });
  });
});

describe('withProviderPrices', () => {
  const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000, totalTokens: 2_000_000 };
  /** The built-in table, as the server's own cost function uses it. */
  const table: CostFunction = (reference, used) =>
    costOf(used, priceOf(reference.slice(reference.indexOf('/') + 1)));
  const prices = new Map<string, PriceOverrides>([
    ['house', { 'house-model': { inputPerMillionUsd: 1, outputPerMillionUsd: 2 } }],
    ['cheap', { 'gpt-4o': { inputPerMillionUsd: 0.5, outputPerMillionUsd: 0.5 } }],
    ['plain', {}],
  ]);
  const cost = withProviderPrices(table, prices);

  it("prices a provider's models with its own prices first", () => {
    expect(cost('house/house-model', usage)).toEqual({ costUsd: 3, known: true });
    expect(cost('house/house-model-2025-01-01', usage)).toEqual({ costUsd: 3, known: true });
    expect(cost('cheap/gpt-4o', usage)).toEqual({ costUsd: 1, known: true });
    expect(cost('cheap/GPT-4o-2024-08-06', usage)).toEqual({ costUsd: 1, known: true });
  });

  it('falls back to the built-in table, per model and per provider', () => {
    expect(cost('house/gpt-4o', usage)).toEqual({ costUsd: 12.5, known: true });
    expect(cost('cheap/gpt-4o-mini', usage)).toEqual({ costUsd: 0.75, known: true });
    expect(cost('plain/gpt-4o', usage)).toEqual({ costUsd: 12.5, known: true });
    expect(cost('elsewhere/gpt-4o', usage)).toEqual({ costUsd: 12.5, known: true });
  });

  it('leaves a model priced nowhere unknown', () => {
    expect(cost('house/other-model', usage)).toEqual({ costUsd: 0, known: false });
    expect(cost('plain/house-model', usage)).toEqual({ costUsd: 0, known: false });
  });

  it('reads model names that contain a slash after the provider', () => {
    expect(cost('cheap/openai/gpt-4o', usage)).toEqual({ costUsd: 1, known: true });
  });
});
