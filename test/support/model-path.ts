import { afterAll, beforeAll, expect } from 'vitest';
import { LLMock, type ChatCompletionRequest, type JournalEntry } from '@copilotkit/aimock';
import {
  routes,
  runEventSchema,
  type BodyInputOf,
  type CreateAgent,
  type Message,
  type Run,
  type RunEvent,
} from '@runyard/protocol';
import type { TestServer } from './server.ts';

/** The only key the mock accepts; the `MOCK_KEY` secret holds it. */
export const mockKey = 'sk-model-path-test-key';

/**
 * A real OpenAI/Anthropic wire-protocol server (aimock) on loopback for the enclosing file, accepting
 * only `mockKey`. Tests isolate their fixtures by giving each run a model name of its own.
 */
export function useModelMock(): () => LLMock {
  let mock: LLMock | undefined;
  beforeAll(async () => {
    mock = new LLMock({ port: 0, host: '127.0.0.1', auth: { apiKeys: [mockKey] }, journalMaxEntries: 0 });
    await mock.start();
  });
  afterAll(async () => {
    await mock?.stop();
  });
  return () => {
    if (mock === undefined) throw new Error('the model mock has not started');
    return mock;
  };
}

/**
 * The `MOCK_KEY` secret and two providers using it: `openai` (chat completions at `openaiUrl`/v1) and
 * `anthropic` (messages at `anthropicUrl`, which defaults to the same server).
 */
export async function connectProviders(
  server: TestServer,
  openaiUrl: string,
  anthropicUrl = openaiUrl,
): Promise<void> {
  const { admin } = server;
  await admin.secrets.create({ name: 'MOCK_KEY', value: mockKey });
  await admin.providers.create({
    name: 'openai',
    kind: 'openai',
    baseUrl: `${openaiUrl}/v1`,
    apiKey: { secret: 'MOCK_KEY' },
  });
  await admin.providers.create({
    name: 'anthropic',
    kind: 'anthropic',
    baseUrl: anthropicUrl,
    apiKey: { secret: 'MOCK_KEY' },
  });
}

export const instructions = 'You are a careful assistant. Use the echo tool when asked to.';

let agents = 0;

/** An agent with the echo tool and `instructions`, plus `fields`; returns its slug. */
export async function createAgent(
  server: TestServer,
  fields: Partial<CreateAgent> & { model: string },
): Promise<string> {
  agents += 1;
  const slug = `model-path-${agents}`;
  await server.admin.agents.create({ slug, name: slug, instructions, tools: ['echo'], ...fields });
  return slug;
}

type RunBody = Omit<BodyInputOf<typeof routes.createAgentRun>, 'mode'>;

/** POST /v1/agents/{slug}/runs with mode wait: the ended run. */
export async function runAgent(server: TestServer, slug: string, body: RunBody): Promise<Run> {
  const response = await server.admin.transport.call(routes.createAgentRun, {
    params: { idOrSlug: slug },
    body: { ...body, mode: 'wait' },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('x-run-id')).toBe(response.data.id);
  return response.data;
}

/** GET /v1/runs/{id}/events: the run's whole event log. */
export async function eventsOf(server: TestServer, runId: string): Promise<RunEvent[]> {
  const response = await server.admin.transport.call(routes.listRunEvents, { params: { runId } });
  return response.data.data;
}

/** GET /v1/threads/{id}/messages */
export async function messagesOf(server: TestServer, threadId: string | null): Promise<Message[]> {
  const response = await server.admin.transport.call(routes.listThreadMessages, {
    params: { threadId: threadId ?? '' },
  });
  return response.data.data;
}

/** POST /v1/agents/{slug}/runs with mode stream, read with plain fetch: the SSE `id`s and events. */
export async function streamAgentRun(
  server: TestServer,
  slug: string,
  body: RunBody,
): Promise<{ response: Response; ids: number[]; events: RunEvent[] }> {
  const response = await fetch(`${server.url}/v1/agents/${slug}/runs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${server.adminKey}`,
      'content-type': 'application/json',
      accept: 'text/event-stream',
    },
    body: JSON.stringify({ ...body, mode: 'stream' }),
  });
  const ids: number[] = [];
  const events: RunEvent[] = [];
  for (const block of (await response.text()).split('\n\n')) {
    const lines = block.split('\n');
    const id = lines.find((line) => line.startsWith('id: '));
    const data = lines.find((line) => line.startsWith('data: '));
    if (data === undefined) continue;
    if (id !== undefined) ids.push(Number(id.slice(4)));
    events.push(runEventSchema.parse(JSON.parse(data.slice(6))));
  }
  return { response, ids, events };
}

/** The event types in order, each run of text deltas shown once as `text-delta…`. */
export function typesOf(events: readonly RunEvent[]): string[] {
  const types: string[] = [];
  for (const event of events) {
    const type = event.type === 'text-delta' ? 'text-delta…' : event.type;
    if (type !== 'text-delta…' || types.at(-1) !== type) types.push(type);
  }
  return types;
}

/** The text a client shows: the deltas of each step's last attempt, joined. */
export function streamedText(events: readonly RunEvent[], step: number): string {
  const starts = events.filter((event) => event.type === 'step-start' && event.step === step);
  const lastStart = starts.at(-1)?.seq ?? 0;
  return events
    .flatMap((event) =>
      event.type === 'text-delta' && event.step === step && event.seq > lastStart ? [event.delta] : [],
    )
    .join('');
}

/** The journal entries of the chat requests the mock received for `model`, oldest first. */
export function journalOf(mock: LLMock, model: string): JournalEntry[] {
  return mock.getRequests().filter((entry) => entry.body?.model === model);
}

/** The request bodies the mock received for `model` (for Anthropic: normalized by aimock). */
export function requestsOf(mock: LLMock, model: string): ChatCompletionRequest[] {
  return journalOf(mock, model).map((entry) => entry.body as ChatCompletionRequest);
}

/** A request's messages without their system message, as role and content. */
export function conversationOf(
  request: ChatCompletionRequest | undefined,
): ChatCompletionRequest['messages'] {
  return (request?.messages ?? []).filter((message) => message.role !== 'system');
}

/** The last message is a tool result: the model's turn after a tool call. */
export const afterToolResult = (request: ChatCompletionRequest): boolean =>
  request.messages.at(-1)?.role === 'tool';
