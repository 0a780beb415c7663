import type { ChatCompletionRequest } from '@copilotkit/aimock';
import { routes, type Run, type RunEvent } from '@runyard/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  createAgent,
  eventsOf,
  instructions,
  messagesOf,
  requestsOf,
  runAgent,
  typesOf,
  useModelMock,
} from '../support/model-path.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { useTestServer } from '../support/use-server.ts';
import { endedRunStatuses, waitForRunStatus, waitUntil } from '../support/wait-until.ts';

// Thread history trimmed to `historyTokenBudget` is replaced by a summary once the trimmed part
// exceeds `summarizeAfterTokens`; the summary is stored and reused, extended when more is trimmed,
// and made once per run even when the run is resumed.

const mock = useModelMock();

/** The start of the engine's summarisation instruction (engine/loop/history-summary.ts). */
const summaryInstructionStart = 'You condense conversations.';
const settings = { historyTokenBudget: 256, summarizeAfterTokens: 256 };

/** Text of about `length` characters that starts with `label`. */
const padded = (label: string, length: number) =>
  `${label} `.padEnd(length, 'the quick brown fox jumps over the lazy dog ');

/** A message's content as text (aimock's journal keeps chat-shaped messages). */
const contentOf = (message: ChatCompletionRequest['messages'][number] | undefined): string =>
  typeof message?.content === 'string' ? message.content : JSON.stringify(message?.content ?? null);

const isSummaryRequest = (request: ChatCompletionRequest | undefined): boolean =>
  contentOf(request?.messages[0]).startsWith(summaryInstructionStart);

const textOf = (request: ChatCompletionRequest | undefined): string => JSON.stringify(request?.messages);

/** The model requests `model` received since `from` (an index into its journal). */
const requestsSince = (model: string, from: number) => requestsOf(mock(), model).slice(from);

const summaryUsage = { prompt_tokens: 400, completion_tokens: 40 };
const stepUsage = { prompt_tokens: 100, completion_tokens: 10 };
/** gpt-4o's price from prices.json, which models named `gpt-4o-…` get. */
const costOf = (usage: { inputTokens: number; outputTokens: number }) =>
  Math.round(((usage.inputTokens * 2.5 + usage.outputTokens * 10) / 1_000_000) * 1e9) / 1e9;

describe.each(backendNames)('history summaries on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  beforeAll(async () => {
    if (!skip) await connectProviders(server(), mock().url);
  });

  it.skipIf(skip)(
    'summarises trimmed turns once, reuses the summary, and extends it when more is trimmed',
    async () => {
      const model = `gpt-4o-summary-${backend}`;
      const first = `Please echo the word alpha. ${padded('Background:', 1200)}`;
      const notes = padded('Here are my notes:', 700);
      const more = padded('And more notes:', 1100);
      mock().on(
        { model, systemMessage: summaryInstructionStart, userMessage: 'Summary so far:' },
        { content: 'SUMMARY-TWO: alpha was echoed, then two sets of notes.', usage: summaryUsage },
      );
      mock().on(
        { model, systemMessage: summaryInstructionStart },
        { content: 'SUMMARY-ONE: the user asked to echo alpha, with background.', usage: summaryUsage },
      );
      mock().on({ model, predicate: afterToolResult }, { content: 'Echo said alpha.', usage: stepUsage });
      mock().on(
        { model, userMessage: 'Please echo the word alpha.' },
        { toolCalls: [{ id: 'call_alpha', name: 'echo', arguments: { text: 'alpha' } }], usage: stepUsage },
      );
      mock().on(
        { model, userMessage: 'What did the echo tool return?' },
        { content: 'It returned alpha.', usage: stepUsage },
      );
      mock().on({ model, userMessage: 'Here are my notes:' }, { content: 'Noted.', usage: stepUsage });
      mock().on({ model, userMessage: 'And more notes:' }, { content: 'Noted again.', usage: stepUsage });
      mock().on({ model, userMessage: 'Where were we?' }, { content: 'At the notes.', usage: stepUsage });
      const slug = await createAgent(server(), { model: `openai/${model}`, settings });

      // Run 1: the thread's first turn, with a tool call; nothing to trim yet.
      const one = await runAgent(server(), slug, { input: first });
      expect(one).toMatchObject({ status: 'succeeded', output: { text: 'Echo said alpha.' } });
      const threadId = one.threadId ?? '';
      expect(requestsSince(model, 0).some(isSummaryRequest)).toBe(false);

      // Run 2: the first message no longer fits the budget and is bigger than summarizeAfterTokens.
      let seen = requestsOf(mock(), model).length;
      const two = await runAgent(server(), slug, { input: 'What did the echo tool return?', threadId });
      const [summaryRequest, answerRequest, ...none] = requestsSince(model, seen);
      expect(none).toEqual([]);
      expect(isSummaryRequest(summaryRequest)).toBe(true);
      expect(summaryRequest?.messages).toHaveLength(2);
      expect(summaryRequest?.messages[1]).toEqual({ role: 'user', content: `Conversation:\nUser: ${first}` });
      expect(summaryRequest?.tools).toBeUndefined();
      // The summary replaces the first message; the tool call and its result stay together.
      expect(answerRequest?.messages).toEqual([
        { role: 'system', content: instructions },
        {
          role: 'system',
          content:
            'Summary of earlier conversation:\nSUMMARY-ONE: the user asked to echo alpha, with background.',
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_alpha', type: 'function', function: { name: 'echo', arguments: '{"text":"alpha"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_alpha', content: 'alpha' },
        { role: 'assistant', content: 'Echo said alpha.' },
        { role: 'user', content: 'What did the echo tool return?' },
      ]);
      // The summary counts in the run's usage and cost, not in its iterations.
      const expectedUsage = {
        inputTokens: summaryUsage.prompt_tokens + stepUsage.prompt_tokens,
        outputTokens: summaryUsage.completion_tokens + stepUsage.completion_tokens,
      };
      expect(two).toMatchObject({
        status: 'succeeded',
        output: { text: 'It returned alpha.' },
        iterations: 1,
        usage: { ...expectedUsage, totalTokens: expectedUsage.inputTokens + expectedUsage.outputTokens },
        costUsd: costOf(expectedUsage),
        costIncomplete: false,
      });
      const events = await eventsOf(server(), two.id);
      expect(typesOf(events)).toEqual([
        'run-start',
        'step-start',
        'step-end',
        'usage',
        'step-start',
        'text-delta…',
        'step-end',
        'usage',
        'run-end',
      ]);
      expect(events[1]).toMatchObject({ type: 'step-start', step: 0, attempt: 1, kind: 'summary' });
      expect(events[2]).toMatchObject({
        type: 'step-end',
        step: 0,
        kind: 'summary',
        model: `openai/${model}`,
        usage: { inputTokens: 400, outputTokens: 40, totalTokens: 440 },
        content: [{ type: 'text', text: 'SUMMARY-ONE: the user asked to echo alpha, with background.' }],
      });
      expect(events.filter((event) => event.type === 'step-start' && event.kind === undefined)).toHaveLength(
        1,
      );
      expect(events.filter((event) => event.type === 'text-delta').every((event) => event.step === 1)).toBe(
        true,
      );

      // Run 3: nothing more is trimmed: the stored summary is sent again, no summary request.
      seen = requestsOf(mock(), model).length;
      const three = await runAgent(server(), slug, { input: notes, threadId });
      expect(three).toMatchObject({ status: 'succeeded', usage: { inputTokens: 100, outputTokens: 10 } });
      const [third, ...noneThree] = requestsSince(model, seen);
      expect(noneThree).toEqual([]);
      expect(third?.messages.slice(0, 3).map((message) => message.content)).toEqual([
        instructions,
        'Summary of earlier conversation:\nSUMMARY-ONE: the user asked to echo alpha, with background.',
        null,
      ]);
      expect(third?.messages).toHaveLength(8);

      // Run 4: the tool call and its result are trimmed away together; too little to summarise
      // yet, so the stored summary is reused as it is.
      seen = requestsOf(mock(), model).length;
      const four = await runAgent(server(), slug, { input: more, threadId });
      expect(four.status).toBe('succeeded');
      const [fourth, ...noneFour] = requestsSince(model, seen);
      expect(noneFour).toEqual([]);
      expect(fourth?.messages.map((message) => [message.role, contentOf(message).slice(0, 20)])).toEqual([
        ['system', instructions.slice(0, 20)],
        ['system', 'Summary of earlier c'],
        ['assistant', 'Echo said alpha.'],
        ['user', 'What did the echo to'],
        ['assistant', 'It returned alpha.'],
        ['user', notes.slice(0, 20)],
        ['assistant', 'Noted.'],
        ['user', more.slice(0, 20)],
      ]);
      expect(textOf(fourth)).not.toContain('call_alpha');

      // Run 5: enough is trimmed now: the summary is extended with everything it did not cover.
      seen = requestsOf(mock(), model).length;
      const five = await runAgent(server(), slug, { input: 'Where were we?', threadId });
      expect(five).toMatchObject({ status: 'succeeded', output: { text: 'At the notes.' } });
      const [extension, fifth, ...noneFive] = requestsSince(model, seen);
      expect(noneFive).toEqual([]);
      expect(isSummaryRequest(extension)).toBe(true);
      const extensionText = contentOf(extension?.messages[1]);
      expect(extensionText).toMatch(
        /^Summary so far:\nSUMMARY-ONE: the user asked to echo alpha, with background\.\n\nNew messages:\n/,
      );
      expect(extensionText).toContain(
        'Assistant called the tool echo with {"text":"alpha"}\nTool echo returned: alpha\n',
      );
      expect(extensionText).toContain(`User: ${notes}`);
      expect(extensionText).toContain(`User: ${more}`);
      expect(extensionText).not.toContain('Noted again.');
      expect(extensionText).not.toContain(first);
      expect(fifth?.messages).toEqual([
        { role: 'system', content: instructions },
        {
          role: 'system',
          content: 'Summary of earlier conversation:\nSUMMARY-TWO: alpha was echoed, then two sets of notes.',
        },
        { role: 'assistant', content: 'Noted again.' },
        { role: 'user', content: 'Where were we?' },
      ]);

      // Summaries shape what is sent, never what the thread keeps.
      const messages = await messagesOf(server(), threadId);
      expect(messages).toHaveLength(12);
      expect(messages[0]?.content).toEqual([{ type: 'text', text: first }]);
      // The stored summary goes with its thread.
      await server().admin.threads.delete(threadId);
      await expect(server().admin.threads.get(threadId)).rejects.toMatchObject({ status: 404 });
    },
  );

  it.skipIf(skip)('puts the summary into the system prompt of an Anthropic model', async () => {
    const model = `claude-summary-${backend}`;
    mock().on(
      { model, systemMessage: summaryInstructionStart },
      { content: 'SUMMARY: the user wrote a long story.', usage: { input_tokens: 300, output_tokens: 20 } },
    );
    mock().on({ model, userMessage: 'A long story:' }, { content: 'What a story.' });
    mock().on({ model, userMessage: 'How did it end?' }, { content: 'Happily.' });
    const slug = await createAgent(server(), { model: `anthropic/${model}`, settings });

    const one = await runAgent(server(), slug, { input: padded('A long story:', 1400) });
    const seen = requestsOf(mock(), model).length;
    const two = await runAgent(server(), slug, { input: 'How did it end?', threadId: one.threadId ?? '' });
    expect(two).toMatchObject({ status: 'succeeded', output: { text: 'Happily.' } });
    const [summaryRequest, answerRequest] = requestsSince(model, seen);
    expect(isSummaryRequest(summaryRequest)).toBe(true);
    // Both system messages go into Anthropic's `system` blocks (aimock's journal joins the blocks).
    expect(answerRequest?.messages).toEqual([
      {
        role: 'system',
        content: `${instructions}Summary of earlier conversation:\nSUMMARY: the user wrote a long story.`,
      },
      { role: 'assistant', content: 'What a story.' },
      { role: 'user', content: 'How did it end?' },
    ]);
  });

  it.skipIf(skip)('goes on without a summary when the summary call fails', async () => {
    const model = `gpt-summary-fails-${backend}`;
    mock().on(
      { model, systemMessage: summaryInstructionStart },
      { error: { message: 'summaries are not allowed here', type: 'invalid_request_error' }, status: 400 },
    );
    mock().on({ model, userMessage: 'A long story:' }, { content: 'What a story.' });
    mock().on({ model, userMessage: 'How did it end?' }, { content: 'Happily.' });
    const slug = await createAgent(server(), { model: `openai/${model}`, settings });
    const one = await runAgent(server(), slug, { input: padded('A long story:', 1400) });
    const seen = requestsOf(mock(), model).length;
    const two = await runAgent(server(), slug, { input: 'How did it end?', threadId: one.threadId ?? '' });
    expect(two).toMatchObject({ status: 'succeeded', output: { text: 'Happily.' }, error: null });
    const [summaryRequest, answerRequest, ...none] = requestsSince(model, seen);
    expect(none).toEqual([]);
    expect(isSummaryRequest(summaryRequest)).toBe(true);
    // Trimmed as without summaries.
    expect(answerRequest?.messages).toEqual([
      { role: 'system', content: instructions },
      { role: 'assistant', content: 'What a story.' },
      { role: 'user', content: 'How did it end?' },
    ]);
    const events = await eventsOf(server(), two.id);
    expect(typesOf(events).slice(0, 4)).toEqual(['run-start', 'step-start', 'error', 'step-start']);
    expect(events[2]).toMatchObject({ type: 'error', code: 'PROVIDER_ERROR', retrying: true });
    expect(events[2]?.type === 'error' && events[2].message).toMatch(
      /^the summary of earlier history failed, the run goes on without it: .*HTTP 400/,
    );
    expect(events.some((event) => event.type === 'step-end' && event.kind === 'summary')).toBe(false);
  });

  it.skipIf(skip)('leaves history as trimming makes it without summarizeAfterTokens', async () => {
    const model = `gpt-trim-only-${backend}`;
    mock().on({ model, userMessage: 'A long story:' }, { content: 'What a story.' });
    mock().on({ model, userMessage: 'How did it end?' }, { content: 'Happily.' });
    const slug = await createAgent(server(), {
      model: `openai/${model}`,
      settings: { historyTokenBudget: 256 },
    });
    const one = await runAgent(server(), slug, { input: padded('A long story:', 1400) });
    const seen = requestsOf(mock(), model).length;
    await runAgent(server(), slug, { input: 'How did it end?', threadId: one.threadId ?? '' });
    const [request, ...none] = requestsSince(model, seen);
    expect(none).toEqual([]);
    expect(request?.messages).toEqual([
      { role: 'system', content: instructions },
      { role: 'assistant', content: 'What a story.' },
      { role: 'user', content: 'How did it end?' },
    ]);
  });
});

describe.each(backendNames)('a run resumed after its summary on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;

  it.skipIf(skip)(
    'takes the summary from its journal: no second summary call, its usage counted once',
    async () => {
      const model = `gpt-4o-resume-summary-${backend}`;
      const answer = { content: 'The story ended well.', usage: stepUsage };
      mock().on(
        { model, systemMessage: summaryInstructionStart },
        { content: 'SUMMARY: a long story.', usage: summaryUsage },
      );
      mock().on({ model, userMessage: 'A long story:' }, { content: 'What a story.', usage: stepUsage });
      // The first attempt of the answer hangs until the worker lets go of the run; the resumed one answers.
      mock().on({ model, userMessage: 'How did it end?', sequenceIndex: 0 }, answer, { latency: 20_000 });
      mock().on({ model, userMessage: 'How did it end?', sequenceIndex: 1 }, answer);

      // A grace of 0: stopping lets go of the run at once, as a worker that shuts down mid-run does.
      const environment = { RUNYARD_SHUTDOWN_GRACE_MS: '0' };
      let current: TestServer = await startTestServer(backend, environment);
      try {
        await connectProviders(current, mock().url);
        const slug = await createAgent(current, { model: `openai/${model}`, settings });
        const one = await runAgent(current, slug, { input: padded('A long story:', 1400) });
        const seen = requestsOf(mock(), model).length;
        const started = await current.admin.transport.call(routes.createAgentRun, {
          params: { idOrSlug: slug },
          body: { input: 'How did it end?', threadId: one.threadId ?? '', mode: 'background' },
        });
        expect(started.status).toBe(202);
        const runId = started.data.id;
        const server = current;
        await waitUntil(() => eventsOf(server, runId), {
          what: 'the answer step to start',
          until: (events) => events.some((event) => event.type === 'step-start' && event.step === 1),
        });
        await current.stop();
        current = await startTestServer(backend, environment, current.backend);
        const resumed = current;
        const run = await waitForRunStatus(resumed.admin, runId, endedRunStatuses);

        const requests = requestsSince(model, seen);
        expect(requests.map(isSummaryRequest)).toEqual([true, false, false]);
        // Both attempts of the answer start from the same summary.
        for (const request of requests.slice(1)) {
          expect(request.messages[1]).toEqual({
            role: 'system',
            content: 'Summary of earlier conversation:\nSUMMARY: a long story.',
          });
        }
        const expectedUsage = {
          inputTokens: summaryUsage.prompt_tokens + stepUsage.prompt_tokens,
          outputTokens: summaryUsage.completion_tokens + stepUsage.completion_tokens,
        };
        expect(run).toMatchObject<Partial<Run>>({
          status: 'succeeded',
          output: { text: 'The story ended well.' },
          iterations: 1,
          usage: { ...expectedUsage, totalTokens: expectedUsage.inputTokens + expectedUsage.outputTokens },
          costUsd: costOf(expectedUsage),
        });
        const events: RunEvent[] = await eventsOf(current, runId);
        expect(events.filter((event) => event.type === 'step-end' && event.kind === 'summary')).toHaveLength(
          1,
        );
        expect(events.filter((event) => event.type === 'step-start' && event.step === 1)).toHaveLength(2);
        expect(events.filter((event) => event.type === 'run-start')).toHaveLength(1);
      } finally {
        await current.close();
      }
    },
  );
});
