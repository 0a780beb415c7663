import { routes, type Run } from '@runyard/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import { connectProviders, createAgent, eventsOf, runAgent, useModelMock } from '../support/model-path.ts';
import { useTestServer } from '../support/use-server.ts';

// A provider's `prices` win over the built-in table (engine/models/prices.json) for its models; a model
// priced nowhere costs 0 and marks the run's cost incomplete.

const mock = useModelMock();

/** Every answer reports this usage, so costs are exact. */
const usage = { prompt_tokens: 1000, completion_tokens: 200 };
const dollars = (inputPerMillionUsd: number, outputPerMillionUsd: number) =>
  (usage.prompt_tokens * inputPerMillionUsd + usage.completion_tokens * outputPerMillionUsd) / 1_000_000;

const housePrices = {
  'house-model': { inputPerMillionUsd: 3, outputPerMillionUsd: 15 },
  'GPT-4o': { inputPerMillionUsd: 1, outputPerMillionUsd: 2 },
};

describe.each(backendNames)('per-provider prices on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  const priced = `priced-${backend}`;
  beforeAll(async () => {
    if (skip) return;
    await connectProviders(server(), mock().url);
    await server().admin.providers.create({
      name: priced,
      kind: 'openai',
      baseUrl: `${mock().url}/v1`,
      apiKey: { secret: 'MOCK_KEY' },
      prices: housePrices,
    });
  });

  /** A run of `provider/model` that answers with `usage`. */
  const runOf = async (provider: string, model: string): Promise<Run> => {
    mock().on({ model }, { content: `Priced by ${provider}.`, usage });
    const slug = await createAgent(server(), { model: `${provider}/${model}` });
    const run = await runAgent(server(), slug, { input: 'What does this cost?' });
    expect(run.status).toBe('succeeded');
    expect(run.usage).toEqual({ inputTokens: 1000, outputTokens: 200, totalTokens: 1200 });
    return run;
  };

  it.skipIf(skip)('stores the prices and returns them', async () => {
    const provider = await server().admin.providers.get(priced);
    expect(provider.prices).toEqual(housePrices);
    expect((await server().admin.providers.get('openai')).prices).toEqual({});
    const listed = await server().admin.providers.list();
    expect(listed.data.find((entry) => entry.name === priced)?.prices).toEqual(housePrices);
  });

  it.skipIf(skip)('prices a run from the provider’s own prices first', async () => {
    // `house-model-…` extends `house-model`, as dated variants extend their model.
    const house = await runOf(priced, `house-model-${backend}`);
    expect(house).toMatchObject({ costUsd: dollars(3, 15), costIncomplete: false });
    // The override names gpt-4o in another case: names compare case-insensitively.
    const overridden = await runOf(priced, `gpt-4o-priced-${backend}`);
    expect(overridden).toMatchObject({ costUsd: dollars(1, 2), costIncomplete: false });
    // A model the provider does not price still has its built-in price.
    const builtIn = await runOf(priced, `gpt-4o-mini-priced-${backend}`);
    expect(builtIn).toMatchObject({ costUsd: dollars(0.15, 0.6), costIncomplete: false });

    const events = await eventsOf(server(), house.id);
    const costs = events.flatMap((event) =>
      event.type === 'usage' || event.type === 'run-end' ? [event.costUsd] : [],
    );
    expect(costs).toEqual([dollars(3, 15), dollars(3, 15)]);
  });

  it.skipIf(skip)('uses the built-in table for a provider without prices', async () => {
    const run = await runOf('openai', `gpt-4o-table-${backend}`);
    expect(run).toMatchObject({ costUsd: dollars(2.5, 10), costIncomplete: false });
  });

  it.skipIf(skip)('costs an unknown model 0 and marks the run', async () => {
    const unknown = await runOf('openai', `mystery-model-${backend}`);
    expect(unknown).toMatchObject({ costUsd: 0, costIncomplete: true });
    const unpriced = await runOf(priced, `mystery-house-${backend}`);
    expect(unpriced).toMatchObject({ costUsd: 0, costIncomplete: true });
    expect(await server().admin.runs.get(unknown.id)).toMatchObject({ costUsd: 0, costIncomplete: true });
  });

  it.skipIf(skip)('replaces the prices on update; {} goes back to the table', async () => {
    const { admin } = server();
    const name = `repriced-${backend}`;
    await admin.providers.create({
      name,
      kind: 'openai-compatible',
      baseUrl: `${mock().url}/v1`,
      apiKey: { secret: 'MOCK_KEY' },
    });
    const model = `gpt-4o-repriced-${backend}`;
    const updated = await admin.providers.update(name, {
      prices: { 'gpt-4o': { inputPerMillionUsd: 0.5, outputPerMillionUsd: 0.5 } },
    });
    expect(updated.prices).toEqual({ 'gpt-4o': { inputPerMillionUsd: 0.5, outputPerMillionUsd: 0.5 } });
    expect((await runOf(name, model)).costUsd).toBe(dollars(0.5, 0.5));

    expect((await admin.providers.update(name, { prices: {} })).prices).toEqual({});
    // Changing another field keeps the prices as they are.
    await admin.providers.update(name, { prices: housePrices });
    expect((await admin.providers.update(name, { models: ['gpt-4o'] })).prices).toEqual(housePrices);
    await admin.providers.update(name, { prices: {} });
    expect((await runOf(name, model)).costUsd).toBe(dollars(2.5, 10));
  });

  it.skipIf(skip)('rejects prices that are not prices with a 400', async () => {
    const bad: unknown[] = [
      { 'm-1': { inputPerMillionUsd: -1, outputPerMillionUsd: 1 } },
      { 'm-1': { inputPerMillionUsd: 1 } },
      { 'm-1': { inputPerMillionUsd: 1, outputPerMillionUsd: 1, cachedPerMillionUsd: 1 } },
      { 'm-1': { inputPerMillionUsd: '1', outputPerMillionUsd: 1 } },
      { 'm-1': { inputPerMillionUsd: 1, outputPerMillionUsd: 2_000_000 } },
      { 'a model': { inputPerMillionUsd: 1, outputPerMillionUsd: 1 } },
      { '': { inputPerMillionUsd: 1, outputPerMillionUsd: 1 } },
      {
        'M-1': { inputPerMillionUsd: 1, outputPerMillionUsd: 1 },
        'm-1': { inputPerMillionUsd: 2, outputPerMillionUsd: 2 },
      },
      Object.fromEntries(
        Array.from({ length: 501 }, (_, index) => [
          `m-${index}`,
          { inputPerMillionUsd: 1, outputPerMillionUsd: 1 },
        ]),
      ),
      [],
      'cheap',
    ];
    for (const prices of bad) {
      for (const [method, path, body] of [
        ['POST', '/v1/providers', { name: 'bad-prices', kind: 'openai', prices }],
        ['PATCH', `/v1/providers/${priced}`, { prices }],
      ] as const) {
        const response = await fetch(`${server().url}${path}`, {
          method,
          headers: { authorization: `Bearer ${server().adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(response.status, `${method} ${JSON.stringify(prices).slice(0, 80)}`).toBe(400);
        expect(await response.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
      }
    }
    // Nothing changed.
    expect((await server().admin.providers.get(priced)).prices).toEqual(housePrices);
    const missing = await server()
      .admin.transport.call(routes.getProvider, { params: { name: 'bad-prices' } })
      .catch((error: unknown) => error);
    expect(missing).toMatchObject({ status: 404 });
  });
});
