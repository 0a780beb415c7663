import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { idToUuid, uuidToId } from '../../packages/server/src/shared/id-uuid-codec.ts';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import {
  eventually,
  expectMakeError,
  makeClient,
  parseSse,
  sleep,
  startReceiver,
  uuidPattern,
  type MakeResponse,
  type Received,
} from './compat-make-support.ts';

const agents = '/ai-agents/v1/agents';

/**
 * What a Make client does to check a callback: the secret is hex HMAC-SHA256(its API key,
 * "runyard/callback-secret"); the header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 */
function expectSignedBy(apiKey: string, request: Received | undefined): void {
  const secret = createHmac('sha256', apiKey).update('runyard/callback-secret').digest('hex');
  const header = String(request?.headers['x-runyard-signature'] ?? '');
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (match === null) throw new Error(`no signature header: '${header}'`);
  const [, seconds, digest] = match;
  expect(Math.abs(Date.now() / 1000 - Number(seconds))).toBeLessThan(300);
  const expected = createHmac('sha256', secret)
    .update(`${seconds}.${request?.body ?? ''}`)
    .digest('hex');
  if (expected !== digest) throw new Error('the signature does not match the body');
}

interface RunResult {
  response: string;
  executionTimeMs?: number;
  threadId: string;
  lastAgentIterationId: string;
}

interface Step {
  role: string;
  content: string;
  id: string;
  agentIterationId: string;
}

describe.each(backendNames)('the Make AI Agents surface: runs on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  /** A Make agent on the playground model; `tools` are set through /v1 (Make has no such field). */
  const createAgent = async (name: string, systemPrompt: string, tools: string[] = []): Promise<string> => {
    const make = makeClient(server());
    const playground = await server().admin.providers.get('playground');
    const created = await make('POST', agents, {
      body: {
        name,
        teamId: 1,
        makeConnectionId: playground.number,
        defaultModel: 'playground',
        systemPrompt,
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = String((created.body as { id: string }).id);
    if (tools.length > 0) await server().admin.agents.update(uuidToId('agent', id) ?? '', { tools });
    return id;
  };

  const say = (content: string) => [{ role: 'user', content }];

  const threadOf = async (result: RunResult) =>
    (await server().admin.runs.get(uuidToId('run', result.lastAgentIterationId) ?? '')).threadId ?? '';

  it.skipIf(skip)('runs an agent and answers with the documented fields', async () => {
    const make = makeClient(server());
    const agent = await createAgent('Echoer', 'Repeat the user.');
    const response = await make('POST', `${agents}/${agent}/run`, { body: { messages: say('hello there') } });
    expect(response.status, response.text).toBe(200);
    const result = response.body as RunResult;
    expect(result).toEqual({
      response: 'You said: hello there',
      executionTimeMs: expect.any(Number) as unknown,
      threadId: expect.stringMatching(uuidPattern) as unknown,
      lastAgentIterationId: expect.stringMatching(uuidPattern) as unknown,
    });
    expect(Number.isInteger(result.executionTimeMs)).toBe(true);

    // The iteration is our run, the thread our thread, both as uuids.
    const run = await server().admin.runs.get(uuidToId('run', result.lastAgentIterationId) ?? '');
    expect(run).toMatchObject({ status: 'succeeded', output: { text: 'You said: hello there' } });
    expect(run.agentId).toBe(uuidToId('agent', agent));
    expect(run.threadId).toBe(uuidToId('thread', result.threadId));
    expect(run.durationMs).toBe(result.executionTimeMs);

    // That uuid continues the thread.
    const again = await make('POST', `${agents}/${agent}/run`, {
      body: { messages: say('and again'), threadId: result.threadId },
    });
    expect((again.body as RunResult).threadId).toBe(result.threadId);
    expect(await threadOf(again.body as RunResult)).toBe(run.threadId);
  });

  it.skipIf(skip)("keeps the history of a client's own threadId across runs", async () => {
    const { admin } = server();
    const make = makeClient(server());
    const agent = await createAgent('Chatter', 'Chat.');
    const runIn = async (threadId: string, content: string) => {
      const response = await make('POST', `${agents}/${agent}/run`, {
        body: { messages: say(content), threadId },
      });
      expect(response.status, response.text).toBe(200);
      return response.body as RunResult;
    };
    for (const threadId of ['customer-42', 'a64d23ed-2580-43e4-a898-e97193d7fd5e']) {
      const first = await runIn(threadId, `first in ${threadId}`);
      const second = await runIn(threadId, `second in ${threadId}`);
      const thread = await threadOf(first);
      expect(thread).toMatch(/^thr_/);
      expect(await threadOf(second)).toBe(thread);
      // A client's own uuid is answered as it is; any other name by our thread's uuid.
      const answered = threadId === 'customer-42' ? idToUuid(thread) : threadId;
      expect([first.threadId, second.threadId]).toEqual([answered, answered]);
      const messages = await admin.threads.messages(thread);
      expect(
        messages.data.map((message) => [
          message.role,
          message.content.map((part) => (part.type === 'text' ? part.text : part.type)).join(''),
        ]),
      ).toEqual([
        ['user', `first in ${threadId}`],
        ['assistant', `You said: first in ${threadId}`],
        ['user', `second in ${threadId}`],
        ['assistant', `You said: second in ${threadId}`],
      ]);
      // The answered uuid reaches the same thread as the name.
      const third = await runIn(answered, `third in ${threadId}`);
      expect(third.threadId).toBe(answered);
      expect(await threadOf(third)).toBe(thread);
    }
    // Two names, two threads; a name whose thread was deleted gets a fresh one.
    const customer = await threadOf(await runIn('customer-42', 'fourth'));
    expect(customer).not.toBe(await threadOf(await runIn('a64d23ed-2580-43e4-a898-e97193d7fd5e', 'x')));
    await admin.threads.delete(customer);
    const fresh = await threadOf(await runIn('customer-42', 'after delete'));
    expect(fresh).not.toBe(customer);
    expect((await admin.threads.messages(fresh)).data).toHaveLength(2);
  });

  it.skipIf(skip)('runs on the thread as it stands when the body has no messages', async () => {
    const { admin } = server();
    const make = makeClient(server());
    const agent = await createAgent('Continuer', 'Continue.');
    const first = await make('POST', `${agents}/${agent}/run`, {
      body: { messages: say('remember me'), threadId: 'standing-thread' },
    });
    expect(first.status, first.text).toBe(200);
    const thread = await threadOf(first.body as RunResult);

    // Only threadId (the body Make documents): the history is the whole input.
    const again = await make('POST', `${agents}/${agent}/run`, { body: { threadId: 'standing-thread' } });
    expect(again.status, again.text).toBe(200);
    const result = again.body as RunResult;
    // The playground answers the last user message of the history.
    expect(result.response).toBe('You said: remember me');
    expect(result.threadId).toBe((first.body as RunResult).threadId);
    const run = await admin.runs.get(uuidToId('run', result.lastAgentIterationId) ?? '');
    expect(run.input).toEqual([]);
    expect(run.threadId).toBe(thread);
    expect(
      (await admin.threads.messages(thread)).data.map((message) => [
        message.role,
        message.content.map((part) => (part.type === 'text' ? part.text : part.type)).join(''),
      ]),
    ).toEqual([
      ['user', 'remember me'],
      ['assistant', 'You said: remember me'],
      ['assistant', 'You said: remember me'],
    ]);

    // The stream too: the system step, then the assistant's; no input steps.
    const streamed = await make('POST', `${agents}/${agent}/run/stream`, {
      body: { threadId: result.threadId },
    });
    expect(streamed.status, streamed.text).toBe(200);
    expect(parseSse(streamed.text).map((event) => [event.event, (event.data as Step).role])).toEqual([
      ['step', 'system'],
      ['step', 'assistant'],
    ]);

    // A new thread (or none) and no messages: the agent runs on its instructions alone.
    for (const body of [{}, { threadId: 'brand-new-thread' }]) {
      const alone = await make('POST', `${agents}/${agent}/run`, { body });
      expect(alone.status, alone.text).toBe(200);
      const aloneRun = await admin.runs.get(
        uuidToId('run', (alone.body as RunResult).lastAgentIterationId) ?? '',
      );
      expect(aloneRun).toMatchObject({ status: 'succeeded', input: [], output: { text: 'You said: ' } });
    }
  });

  it.skipIf(skip)('streams system, user, tool and assistant steps in order', async () => {
    const make = makeClient(server());
    const agent = await createAgent('Tool user', 'Use tools when asked.', ['echo']);
    const response = await make('POST', `${agents}/${agent}/run/stream`, {
      body: { messages: say('use echo {"text":"hi"}') },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.text).toMatch(/^event: step\nid: [0-9a-f-]{36}\ndata: \{/);
    const events = parseSse(response.text);
    expect(events.map((event) => event.event)).toEqual(['step', 'step', 'step', 'step', 'step']);
    const steps = events.map((event) => event.data as Step);
    const run = await server().admin.runs.get(uuidToId('run', steps[0]?.agentIterationId ?? '') ?? '');
    // The system step is the prompt the model got: the instructions, then the run's time.
    expect(steps.map((step) => [step.role, step.content])).toEqual([
      ['system', `Use tools when asked.\nCurrent time (ISO): ${run.createdAt}`],
      ['user', 'use echo {"text":"hi"}'],
      // The turn that only called a tool is an assistant step too.
      ['assistant', 'echo({"text":"hi"})'],
      ['tool', 'echo({"text":"hi"}) returned: hi'],
      ['assistant', 'echo returned: hi'],
    ]);
    expect(steps[0]?.content).toMatch(/\nCurrent time \(ISO\): \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    for (const [index, step] of steps.entries()) {
      expect(Object.keys(step).sort()).toEqual(['agentIterationId', 'content', 'id', 'role']);
      expect(step.id).toMatch(uuidPattern);
      expect(events[index]?.id).toMatch(uuidPattern);
      expect(events[index]?.id).not.toBe(step.id);
    }
    expect(new Set(steps.map((step) => step.id)).size).toBe(5);
    expect(new Set(events.map((event) => event.id)).size).toBe(5);
    const iteration = steps[0]?.agentIterationId ?? '';
    expect(steps.every((step) => step.agentIterationId === iteration)).toBe(true);
    expect(response.headers.get('x-agent-iteration-id')).toBe(iteration);

    expect(run.id).toBe(uuidToId('run', iteration));
    expect(run).toMatchObject({ status: 'succeeded', output: { text: 'echo returned: hi' }, iterations: 2 });
    expect(run.threadId).toBe(uuidToId('thread', response.headers.get('x-thread-id') ?? ''));

    // A client thread name continues the conversation in the stream too, named by its uuid.
    const named = await make('POST', `${agents}/${agent}/run/stream`, {
      body: { messages: say('plain words'), threadId: 'stream-thread' },
    });
    const namedThread = named.headers.get('x-thread-id') ?? '';
    expect(parseSse(named.text).map((event) => (event.data as Step).role)).toEqual([
      'system',
      'user',
      'assistant',
    ]);
    const again = await make('POST', `${agents}/${agent}/run/stream`, {
      body: { messages: say('more words'), threadId: 'stream-thread' },
    });
    expect(again.headers.get('x-thread-id')).toBe(namedThread);
  });

  it.skipIf(skip)("reports a failed run in Make's shape: an error answer, or event: error", async () => {
    const { admin } = server();
    const make = makeClient(server());
    const agent = await createAgent('Limited', 'One step only.', ['echo']);
    await admin.agents.update(uuidToId('agent', agent) ?? '', { settings: { maxIterations: 1 } });

    const answer = await make('POST', `${agents}/${agent}/run`, {
      body: { messages: say('use echo {"text":"x"}') },
    });
    expect(answer.status, answer.text).toBe(422);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    const failed = answer.body as Record<string, unknown>;
    // Not an SC code: the run error code tells run failures from request failures.
    expect(failed).toMatchObject({
      message: 'Agent run failed',
      code: 'MAX_ITERATIONS',
      detail: expect.stringMatching(/steps/) as unknown,
      threadId: expect.stringMatching(uuidPattern) as unknown,
      lastAgentIterationId: expect.stringMatching(uuidPattern) as unknown,
    });
    const run = await admin.runs.get(uuidToId('run', String(failed.lastAgentIterationId)) ?? '');
    expect(run.error?.code).toBe('MAX_ITERATIONS');

    const streamed = await make('POST', `${agents}/${agent}/run/stream`, {
      body: { messages: say('use echo {"text":"y"}') },
    });
    expect(streamed.status).toBe(200);
    const events = parseSse(streamed.text);
    expect(events.map((event) => event.event)).toEqual(['step', 'step', 'step', 'step', 'error']);
    expect(events.slice(0, 4).map((event) => (event.data as Step).role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
    ]);
    expect(events[4]?.data).toEqual({
      message: 'Agent run failed',
      code: 'MAX_ITERATIONS',
      detail: run.error?.message,
    });
    expect(events[4]?.id).toMatch(uuidPattern);
  });

  it.skipIf(skip)(
    'answers at once with a callbackUrl and POSTs the Make-shaped result there once',
    async () => {
      const { admin } = server();
      const make = makeClient(server());
      const agent = await createAgent('Caller back', 'Answer later.');
      const receiver = await startReceiver();
      try {
        const started = await make('POST', `${agents}/${agent}/run`, {
          body: { messages: say('call me back'), callbackUrl: receiver.url, threadId: 'callback-thread' },
        });
        expect(started.status, started.text).toBe(200);
        const accepted = started.body as RunResult;
        expect(accepted).toEqual({
          response: '',
          threadId: expect.stringMatching(uuidPattern) as unknown,
          lastAgentIterationId: expect.stringMatching(uuidPattern) as unknown,
        });
        const runId = uuidToId('run', accepted.lastAgentIterationId) ?? '';
        expect((await admin.runs.get(runId)).threadId).toBe(uuidToId('thread', accepted.threadId));
        await eventually(
          () => admin.runs.deliveries(runId),
          (deliveries) => deliveries.some((delivery) => delivery.delivered),
        );
        await sleep(300);
        expect(receiver.received).toHaveLength(1);
        const [request] = receiver.received;
        const run = await admin.runs.get(runId);
        expect(run.status).toBe('succeeded');
        expect(JSON.parse(request?.body ?? '')).toEqual({
          response: 'You said: call me back',
          executionTimeMs: run.durationMs,
          threadId: accepted.threadId,
          lastAgentIterationId: accepted.lastAgentIterationId,
        });
        expect(request?.headers['content-type']).toBe('application/json');
        expect(request?.headers['x-runyard-run-id']).toBe(runId);
        // Signed like a /v1 callback, with the secret the client derives from its API key.
        expectSignedBy(server().adminKey, request);
        const forged = request && { ...request, body: request.body.replace('call me back', 'call me later') };
        expect(() => expectSignedBy(server().adminKey, forged)).toThrow(/does not match/);
        expect(() => expectSignedBy('another-key-entirely', request)).toThrow(/does not match/);

        // Without a threadId the callback names the new thread by its uuid, as the answer did.
        const unnamed = (
          await make('POST', `${agents}/${agent}/run`, {
            body: { messages: say('again'), callbackUrl: receiver.url },
          })
        ).body as RunResult;
        expect(unnamed.threadId).toMatch(uuidPattern);
        await eventually(
          () => receiver.received.length,
          (count) => count === 2,
        );
        expect(JSON.parse(receiver.received[1]?.body ?? '')).toMatchObject({
          response: 'You said: again',
          threadId: unnamed.threadId,
          lastAgentIterationId: unnamed.lastAgentIterationId,
        });
      } finally {
        await receiver.close();
      }
    },
  );

  it.skipIf(skip)('answers an agent with an output schema with its JSON text', async () => {
    const make = makeClient(server());
    const playground = await server().admin.providers.get('playground');
    const created = await make('POST', agents, {
      body: {
        name: 'Extractor',
        teamId: 1,
        makeConnectionId: playground.number,
        defaultModel: 'playground',
        systemPrompt: 'Extract.',
        outputParserFormat: {
          type: 'json-schema',
          schema: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] },
        },
      },
    });
    const id = String((created.body as { id: string }).id);
    const response: MakeResponse = await make('POST', `${agents}/${id}/run`, {
      body: { messages: say('the sky is blue') },
    });
    expect(response.status, response.text).toBe(200);
    const parsed = JSON.parse((response.body as RunResult).response) as { summary: unknown };
    expect(typeof parsed.summary).toBe('string');
  });

  it.skipIf(skip)(
    'leaves no thread behind for an unknown agent, and names the id the client sent',
    async () => {
      const { admin } = server();
      const make = makeClient(server());
      const before = (await admin.threads.list({ limit: 200 })).data.length;
      const unknown = 'a132ced5-4afd-4444-ac9d-330cc99c4986';
      for (const path of [`${agents}/${unknown}/run`, `${agents}/${unknown}/run/stream`]) {
        const error = expectMakeError(
          await make('POST', path, { body: { messages: say('hi'), threadId: 'orphan-thread' } }),
          404,
        );
        expect(error.detail).toBe(`agent '${unknown}' was not found`);
      }
      expect((await admin.threads.list({ limit: 200 })).data.length).toBe(before);
      // One of our uuids that names no agent (a deleted one) is named as sent too.
      const deleted = await createAgent('Gone soon', 'Bye.');
      expect((await make('DELETE', `${agents}/${deleted}`)).status).toBe(204);
      for (const [method, path] of [
        ['GET', `${agents}/${deleted}`],
        ['DELETE', `${agents}/${deleted}`],
        ['POST', `${agents}/${deleted}/run`],
      ] as const) {
        const error = expectMakeError(
          await make(method, path, method === 'POST' ? { body: { messages: say('hi') } } : {}),
          404,
        );
        expect(error.detail).toBe(`agent '${deleted}' was not found`);
      }
      const patched = expectMakeError(
        await make('PATCH', `${agents}/${deleted}`, { body: { name: 'x' } }),
        404,
      );
      expect(patched.detail).toBe(`agent '${deleted}' was not found`);
    },
  );
});
