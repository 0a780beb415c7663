import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames } from '../support/backends.ts';
import {
  connectProviders,
  createAgent,
  eventsOf,
  journalOf,
  messagesOf,
  requestsOf,
  runAgent,
  streamedText,
  typesOf,
  useModelMock,
} from '../support/model-path.ts';
import { useTestServer } from '../support/use-server.ts';

const mock = useModelMock();

describe.each(backendNames)('model failures on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  beforeAll(async () => {
    if (!skip) await connectProviders(server(), mock().url);
  });
  /** A model name of the test's own, so its fixtures and journal entries are its own. */
  const modelName = (label: string) => `gpt-${label}-${backend}`;

  it.skipIf(skip)('waits out a 429 as its retry-after says, then succeeds', async () => {
    const model = modelName('rate-limited');
    mock().on(
      { model, sequenceIndex: 0 },
      { error: { message: 'Rate limit reached', type: 'rate_limit_error' }, status: 429, retryAfter: 1 },
    );
    mock().on({ model, sequenceIndex: 1 }, { content: 'Answered once the rate limit passed.' });
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const run = await runAgent(server(), slug, { input: 'Are you there?' });
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { text: 'Answered once the rate limit passed.' },
      error: null,
      iterations: 1,
    });
    expect(run.usage.totalTokens).toBeGreaterThan(0);

    const events = await eventsOf(server(), run.id);
    expect(typesOf(events)).toEqual([
      'run-start',
      'step-start',
      'error',
      'step-start',
      'text-delta…',
      'step-end',
      'usage',
      'run-end',
    ]);
    expect(events.filter((event) => event.type === 'step-start')).toMatchObject([
      { step: 1, attempt: 1 },
      { step: 1, attempt: 2 },
    ]);
    const retry = events.find((event) => event.type === 'error');
    expect(retry).toMatchObject({ code: 'PROVIDER_ERROR', retrying: true });
    expect(retry?.type === 'error' && retry.message).toContain('429');

    const journal = journalOf(mock(), model);
    expect(journal.map((entry) => entry.response.status)).toEqual([429, 200]);
    const [first, second] = requestsOf(mock(), model);
    expect(second?.messages).toEqual(first?.messages);
    // Retry-After: 1 was honoured (the backoff of a first retry would be at most 500 ms).
    const waitedMs = (journal[1]?.timestamp ?? 0) - (journal[0]?.timestamp ?? 0);
    expect(waitedMs).toBeGreaterThanOrEqual(900);
    expect(waitedMs).toBeLessThan(5000);
  });

  it.skipIf(skip)('retries a stream cut mid-way; the retry supersedes the partial text', async () => {
    const model = modelName('disconnect');
    const answer = 'This answer is long enough to be cut after a couple of chunks on the first try.';
    mock().on(
      { model, sequenceIndex: 0 },
      { content: answer },
      { chunkSize: 10, truncateAfterChunks: 3, latency: 10 },
    );
    mock().on({ model, sequenceIndex: 1 }, { content: answer }, { chunkSize: 10 });
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const run = await runAgent(server(), slug, { input: 'Tell me something long.' });
    expect(run).toMatchObject({ status: 'succeeded', output: { text: answer }, iterations: 1 });

    const events = await eventsOf(server(), run.id);
    expect(typesOf(events)).toEqual([
      'run-start',
      'step-start',
      'text-delta…',
      'error',
      'step-start',
      'text-delta…',
      'step-end',
      'usage',
      'run-end',
    ]);
    const cut = events.find((event) => event.type === 'error');
    expect(cut).toMatchObject({ code: 'PROVIDER_ERROR', retrying: true });
    // A broken stream is a network failure, not the HTTP 200 it began with.
    expect(cut?.type === 'error' && cut.message).not.toContain('HTTP 200');
    // The first attempt streamed only part of the answer; a client keeps the last attempt's text.
    const starts = events.filter((event) => event.type === 'step-start');
    const partial = events
      .filter((event) => event.type === 'text-delta' && event.seq < (starts[1]?.seq ?? 0))
      .map((event) => (event.type === 'text-delta' ? event.delta : ''))
      .join('');
    expect(answer.startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(answer.length);
    expect(streamedText(events, 1)).toBe(answer);

    const journal = journalOf(mock(), model);
    expect(journal).toHaveLength(2);
    expect(journal[0]?.response).toMatchObject({ interrupted: true, interruptReason: 'truncateAfterChunks' });
    expect(journal[1]?.response.interrupted).toBeUndefined();

    const messages = await messagesOf(server(), run.threadId);
    expect(messages.map((message) => message.content)).toEqual([
      [{ type: 'text', text: 'Tell me something long.' }],
      [{ type: 'text', text: answer }],
    ]);
  });

  it.skipIf(skip)(
    'retries a 200 whose body is not a stream instead of taking it as an empty answer',
    async () => {
      const model = modelName('malformed');
      mock().on({ model, sequenceIndex: 0 }, { content: 'unused' }, { chaos: { malformedRate: 1 } });
      mock().on({ model, sequenceIndex: 1 }, { content: 'A proper answer.' });
      const slug = await createAgent(server(), { model: `openai/${model}` });

      const run = await runAgent(server(), slug, { input: 'Say something proper.' });
      expect(run).toMatchObject({ status: 'succeeded', output: { text: 'A proper answer.' }, iterations: 1 });
      expect(journalOf(mock(), model).map((entry) => entry.response.chaosAction)).toEqual([
        'malformed',
        undefined,
      ]);
      const events = await eventsOf(server(), run.id);
      expect(typesOf(events)).toEqual([
        'run-start',
        'step-start',
        'error',
        'step-start',
        'text-delta…',
        'step-end',
        'usage',
        'run-end',
      ]);
      expect(events.find((event) => event.type === 'error')).toMatchObject({
        code: 'PROVIDER_ERROR',
        message: `openai/${model}: the response stream ended early`,
        retrying: true,
      });
    },
  );

  it.skipIf(skip)('ends a run whose model does not answer in time with RUN_TIMEOUT', async () => {
    const model = modelName('too-slow');
    // Each chunk a long while after the last: the stream outlives the run's deadline.
    mock().on({ model }, { content: 'An answer that comes far too late.' }, { chunkSize: 5, latency: 3000 });
    const slug = await createAgent(server(), { model: `openai/${model}`, settings: { timeoutMs: 1000 } });

    const startedMs = Date.now();
    const run = await runAgent(server(), slug, { input: 'Are you there?' });
    expect(run).toMatchObject({ status: 'failed', output: null, error: { code: 'RUN_TIMEOUT' } });
    expect(run.error?.message).toContain('1000 ms');
    expect(Date.now() - startedMs).toBeLessThan(5000);
    const events = await eventsOf(server(), run.id);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'failed' });
  });

  it.skipIf(skip)('gives up on a model after three retries: failed with PROVIDER_ERROR', async () => {
    const model = modelName('always-limited');
    mock().on(
      { model },
      { error: { message: 'Rate limit reached', type: 'rate_limit_error' }, status: 429, retryAfter: 0 },
    );
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const run = await runAgent(server(), slug, { input: 'Anyone?' });
    expect(run).toMatchObject({ status: 'failed', output: null, error: { code: 'PROVIDER_ERROR' } });
    expect(run.error?.message).toContain('429');
    expect(journalOf(mock(), model).map((entry) => entry.response.status)).toEqual([429, 429, 429, 429]);

    const events = await eventsOf(server(), run.id);
    expect(typesOf(events)).toEqual([
      'run-start',
      'step-start',
      'error',
      'step-start',
      'error',
      'step-start',
      'error',
      'step-start',
      'error',
      'run-end',
    ]);
    expect(events.filter((event) => event.type === 'error').map((event) => event.retrying)).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'failed', error: run.error });
  });

  it.skipIf(skip)('falls back to the next model when the agent’s model keeps failing', async () => {
    const model = modelName('failing-primary');
    const fallback = modelName('fallback');
    mock().on(
      { model },
      { error: { message: 'Overloaded', type: 'rate_limit_error' }, status: 429, retryAfter: 0 },
    );
    mock().on({ model: fallback }, { content: 'The fallback model answered.' });
    const slug = await createAgent(server(), {
      model: `openai/${model}`,
      settings: { fallbackModels: [`openai/${fallback}`] },
    });

    const run = await runAgent(server(), slug, { input: 'Who answers?' });
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { text: 'The fallback model answered.' },
      error: null,
      iterations: 1,
    });
    expect(run.usage.totalTokens).toBeGreaterThan(0);
    expect(journalOf(mock(), model)).toHaveLength(4);
    expect(journalOf(mock(), fallback).map((entry) => entry.response.status)).toEqual([200]);

    const events = await eventsOf(server(), run.id);
    expect(events.filter((event) => event.type === 'step-start').map((event) => event.attempt)).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect(events.filter((event) => event.type === 'error').map((event) => event.retrying)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(events.find((event) => event.type === 'step-end')).toMatchObject({
      step: 1,
      model: `openai/${fallback}`,
      content: [{ type: 'text', text: 'The fallback model answered.' }],
    });
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
  });

  it.skipIf(skip)('fails at once, without retries, when the provider rejects the key', async () => {
    const { admin } = server();
    const model = modelName('wrong-key');
    mock().on({ model }, { content: 'never served' });
    await admin.secrets.create({ name: 'WRONG_KEY', value: 'sk-not-the-mock-key' });
    await admin.providers.create({
      name: 'openai-wrong-key',
      kind: 'openai',
      baseUrl: `${mock().url}/v1`,
      apiKey: { secret: 'WRONG_KEY' },
    });
    const slug = await createAgent(server(), { model: `openai-wrong-key/${model}` });

    const started = Date.now();
    const run = await runAgent(server(), slug, { input: 'Hello?' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(run).toMatchObject({
      status: 'failed',
      output: null,
      error: { code: 'PROVIDER_AUTH_FAILED' },
      iterations: 0,
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    });
    expect(run.error?.message).toContain('401');

    const events = await eventsOf(server(), run.id);
    expect(typesOf(events)).toEqual(['run-start', 'step-start', 'error', 'run-end']);
    expect(events.find((event) => event.type === 'error')).toMatchObject({
      code: 'PROVIDER_AUTH_FAILED',
      retrying: false,
    });
    // The mock rejects a wrong key before it matches (or journals) anything: nothing was served.
    expect(journalOf(mock(), model)).toEqual([]);
  });
});
