import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionRequest } from '@copilotkit/aimock';
import { backendNames } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  conversationOf,
  createAgent,
  eventsOf,
  messagesOf,
  requestsOf,
  runAgent,
  typesOf,
  useModelMock,
} from '../support/model-path.ts';
import { useTestServer } from '../support/use-server.ts';

const mock = useModelMock();

const citySchema = {
  type: 'object',
  properties: { city: { type: 'string' }, population: { type: 'integer' } },
  required: ['city', 'population'],
  additionalProperties: false,
};

/** The start of the corrective prompt the engine sends after an answer that misses the schema. */
const corrective = 'Your answer does not match the required JSON schema';

/** The text of the last user message of a request. */
const lastUserText = (request: ChatCompletionRequest | undefined): string => {
  const content = request?.messages.filter((message) => message.role === 'user').at(-1)?.content;
  return typeof content === 'string' ? content : JSON.stringify(content);
};

describe.each(backendNames)('what the engine checks of model output on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  beforeAll(async () => {
    if (!skip) await connectProviders(server(), mock().url);
  });
  /** A model name of the test's own, so its fixtures and journal entries are its own. */
  const modelName = (label: string) => `gpt-${label}-${backend}`;

  it.skipIf(skip)('asks once more when the answer misses the outputSchema, then takes the fix', async () => {
    const model = modelName('schema-fixed');
    mock().on({ model, userMessage: corrective }, { content: '{"city":"Paris","population":2102650}' });
    mock().on({ model }, { content: '{"city":"Paris"}' });
    const slug = await createAgent(server(), { model: `openai/${model}`, outputSchema: citySchema });

    const run = await runAgent(server(), slug, { input: 'Which city is the capital of France?' });
    expect(run).toMatchObject({
      status: 'succeeded',
      output: {
        text: '{"city":"Paris","population":2102650}',
        object: { city: 'Paris', population: 2102650 },
      },
      error: null,
      iterations: 2,
    });

    const events = await eventsOf(server(), run.id);
    expect(typesOf(events)).toEqual([
      'run-start',
      'step-start',
      'text-delta…',
      'step-end',
      'usage',
      'step-start',
      'text-delta…',
      'step-end',
      'usage',
      'run-end',
    ]);

    const requests = requestsOf(mock(), model);
    expect(requests).toHaveLength(2);
    expect(requests[0]?.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { schema: citySchema },
    });
    expect(conversationOf(requests[1])).toEqual([
      { role: 'user', content: 'Which city is the capital of France?' },
      { role: 'assistant', content: '{"city":"Paris"}' },
      { role: 'user', content: expect.stringContaining(corrective) as unknown },
    ]);
    expect(lastUserText(requests[1])).toContain("- (root): must have required property 'population'");
  });

  it.skipIf(skip)('fails with OUTPUT_SCHEMA_MISMATCH when the corrected answer misses it too', async () => {
    const model = modelName('schema-mismatch');
    mock().on({ model, userMessage: corrective }, { content: '{"city":"Paris","population":"lots"}' });
    mock().on({ model }, { content: 'Paris, with about two million people.' });
    const slug = await createAgent(server(), { model: `openai/${model}`, outputSchema: citySchema });

    const run = await runAgent(server(), slug, { input: 'Which city is the capital of France?' });
    expect(run).toMatchObject({
      status: 'failed',
      output: null,
      error: { code: 'OUTPUT_SCHEMA_MISMATCH' },
      iterations: 2,
    });
    expect(run.error?.message).toContain('- population: must be integer');

    const requests = requestsOf(mock(), model);
    expect(requests).toHaveLength(2);
    expect(lastUserText(requests[1])).toContain('- (root): is not valid JSON');

    const events = await eventsOf(server(), run.id);
    expect(typesOf(events).slice(-2)).toEqual(['error', 'run-end']);
    expect(events.at(-2)).toMatchObject({ type: 'error', code: 'OUTPUT_SCHEMA_MISMATCH', retrying: false });
  });

  it.skipIf(skip)('answers an unknown tool and bad arguments with error results, and goes on', async () => {
    const model = modelName('bad-calls');
    mock().on({ model, predicate: afterToolResult }, { content: 'Sorry, I will call the tools properly.' });
    mock().on(
      { model },
      {
        toolCalls: [
          { id: 'call_unknown', name: 'delete_everything', arguments: { really: true } },
          { id: 'call_invalid', name: 'echo', arguments: { text: 42, loud: true } },
          { id: 'call_not_json', name: 'echo', arguments: '{"text": "unterminated' },
        ],
      },
    );
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const run = await runAgent(server(), slug, { input: 'Do something risky.' });
    expect(run).toMatchObject({
      status: 'succeeded',
      output: { text: 'Sorry, I will call the tools properly.' },
      error: null,
      iterations: 2,
    });

    const events = await eventsOf(server(), run.id);
    const results = new Map(
      events.flatMap((event) => (event.type === 'tool-result' ? [[event.toolCallId, event] as const] : [])),
    );
    expect(results.size).toBe(3);
    expect(results.get('call_unknown')).toMatchObject({
      isError: true,
      output: "unknown tool 'delete_everything'; available tools: echo",
    });
    const invalid = results.get('call_invalid');
    expect(invalid?.isError).toBe(true);
    expect(String(invalid?.output).split('\n').sort()).toEqual([
      "- (root): must NOT have additional properties 'loud'",
      '- text: must be string',
      'invalid arguments:',
    ]);
    const notJson = results.get('call_not_json');
    expect(notJson?.isError).toBe(true);
    expect(String(notJson?.output)).toMatch(
      /^invalid arguments:\n- \(root\): the arguments are not valid JSON/,
    );

    // The model is told, as tool results in its own wire format.
    const toolMessages = conversationOf(requestsOf(mock(), model)[1]).filter(
      (message) => message.role === 'tool',
    );
    expect(toolMessages.map((message) => [message.tool_call_id, message.content])).toEqual([
      ['call_unknown', results.get('call_unknown')?.output],
      ['call_invalid', invalid?.output],
      ['call_not_json', notJson?.output],
    ]);

    const messages = await messagesOf(server(), run.threadId);
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it.skipIf(skip)('stops a model that repeats the same tool call: failed with TOOL_LOOP', async () => {
    const model = modelName('tool-loop');
    mock().on({ model }, { toolCalls: [{ name: 'echo', arguments: { text: 'again' } }] });
    const slug = await createAgent(server(), { model: `openai/${model}` });

    const run = await runAgent(server(), slug, { input: 'Echo again and again.' });
    expect(run).toMatchObject({
      status: 'failed',
      output: null,
      error: { code: 'TOOL_LOOP' },
      iterations: 3,
    });
    expect(run.error?.message).toContain('echo');
    expect(run.usage.totalTokens).toBeGreaterThan(0);
    expect(requestsOf(mock(), model)).toHaveLength(3);

    const events = await eventsOf(server(), run.id);
    // The third identical call is not run.
    expect(events.filter((event) => event.type === 'tool-call')).toHaveLength(3);
    expect(events.filter((event) => event.type === 'tool-result')).toHaveLength(2);
    expect(typesOf(events).slice(-4)).toEqual(['step-end', 'usage', 'error', 'run-end']);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'failed', error: run.error });
  });

  it.skipIf(skip)('stops after settings.maxIterations steps: failed with MAX_ITERATIONS', async () => {
    const model = modelName('max-iterations');
    mock().on({ model }, (request) => ({
      toolCalls: [
        {
          name: 'echo',
          arguments: JSON.stringify({
            text: `round ${request.messages.filter((message) => message.role === 'tool').length}`,
          }),
        },
      ],
    }));
    const slug = await createAgent(server(), {
      model: `openai/${model}`,
      settings: { maxIterations: 2 },
    });

    const run = await runAgent(server(), slug, { input: 'Keep echoing.' });
    expect(run).toMatchObject({
      status: 'failed',
      output: null,
      error: { code: 'MAX_ITERATIONS' },
      iterations: 2,
    });
    expect(requestsOf(mock(), model)).toHaveLength(2);

    const events = await eventsOf(server(), run.id);
    expect(
      events.flatMap((event) => (event.type === 'tool-result' ? [[event.step, event.output]] : [])),
    ).toEqual([
      [1, 'round 0'],
      [2, 'round 1'],
    ]);
    expect(typesOf(events).slice(-3)).toEqual(['tool-result', 'error', 'run-end']);
    expect(events.at(-2)).toMatchObject({ type: 'error', code: 'MAX_ITERATIONS', retrying: false });

    // The steps the run did take are in its thread.
    const messages = await messagesOf(server(), run.threadId);
    expect(messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'tool',
    ]);
  });
});
