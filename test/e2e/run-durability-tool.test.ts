import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import type { ChatCompletionRequest } from '@copilotkit/aimock';
import { runEventSchema, type Run, type RunEvent } from '@runyard/protocol';
import { Runyard } from '@runyard/sdk';
import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../support/backends.ts';
import { afterToolResult, journalOf, mockKey, useModelMock } from '../support/model-path.ts';
import { freshDeployment, useCleanups, within, type Gate } from '../support/harness.ts';
import {
  exitOf,
  logsWithMessage,
  stopRunyard,
  useRunyardProcesses,
  type RunyardProcess,
} from '../support/processes.ts';
import { waitUntil } from '../support/wait-until.ts';

// A worker dies (SIGKILL) while a run's tool call is in flight: the other worker takes the run over
// once its lease expires and resumes it from its journal. The interrupted call had not finished, so
// it is sent again (at-least-once) with the same Idempotency-Key, and the API applies it once. A
// call whose result was journaled before the death is not sent again at all.

const bootstrapKey = 'ry_durability_tool_bootstrap_key_0123456789';
/** Short, so that the surviving worker takes the run over a few seconds after the kill. */
const leaseMs = 3000;
const toolCallId = 'call_charge_1';
const answer = 'The card was charged 1200 cents, once.';
/** Long enough that a step waiting for it is still in flight whenever the test kills its worker. */
const slowChunkMs = 20_000;
const skip = !postgresAvailable;

const mock = useModelMock();

// Opens what the tests held back (so no request stays open), then removes schemas and files.
const { cleanups, gate } = useCleanups();
// Registered last, so its afterEach runs first: the processes are gone before their schema is dropped.
const processes = useRunyardProcesses();

interface ChargeRequest {
  idempotencyKey: string | undefined;
  body: unknown;
  /** Answered from the result stored for its key, without charging again. */
  replayed: boolean;
}

/**
 * A payment API on loopback, deduplicating as Stripe does: `POST /charges` applies a charge once per
 * `Idempotency-Key` and stores its result; a repeat with that key gets the stored result at once. While
 * `holdFirst`, the answer to the first charge is held until the test's cleanup (a slow side effect).
 */
async function startChargeApi(holdFirst: boolean): Promise<{
  url: string;
  requests: ChargeRequest[];
  /** Every charge applied (the side effect), oldest first. */
  charges: { id: string; amount: unknown }[];
  firstRequest: Gate;
}> {
  const requests: ChargeRequest[] = [];
  const charges: { id: string; amount: unknown }[] = [];
  const byKey = new Map<string, { id: string; amount: unknown }>();
  const firstRequest = gate();
  const held = gate();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
        if (response.destroyed) return;
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(body));
      };
      const key = request.headers['idempotency-key'];
      const idempotencyKey = typeof key === 'string' ? key : undefined;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as { amount?: unknown };
      if (request.method !== 'POST' || request.url !== '/charges')
        return reply(404, { error: 'no such endpoint' });
      const stored = idempotencyKey === undefined ? undefined : byKey.get(idempotencyKey);
      requests.push({ idempotencyKey, body, replayed: stored !== undefined });
      firstRequest.open();
      if (stored !== undefined) return reply(201, stored, { 'idempotent-replayed': 'true' });
      const charge = { id: `ch_${charges.length + 1}`, amount: body.amount };
      charges.push(charge);
      if (idempotencyKey !== undefined) byKey.set(idempotencyKey, charge);
      if (holdFirst && requests.length === 1) void held.opened.then(() => reply(201, charge));
      else reply(201, charge);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    charges,
    firstRequest,
  };
}

/** One SSE client of `GET /v1/runs/{id}/stream` on one connection, from the first event to the end. */
interface StreamClient {
  ids: number[];
  events: RunEvent[];
  /** Blocks with an `event:` line (the stream's own failure); none expected. */
  failures: string[];
  firstEvent: Promise<void>;
  ended: Promise<void>;
}

async function openStream(url: string, runId: string): Promise<StreamClient> {
  const response = await fetch(`${url}/v1/runs/${runId}/stream`, {
    headers: { authorization: `Bearer ${bootstrapKey}`, accept: 'text/event-stream' },
    signal: AbortSignal.timeout(60_000),
  });
  expect(response.status).toBe(200);
  const first = gate();
  const client: Omit<StreamClient, 'ended'> = { ids: [], events: [], failures: [], firstEvent: first.opened };
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const data = lines.find((line) => line.startsWith('data: '));
        if (data === undefined) continue; // a keepalive comment
        if (lines.some((line) => line.startsWith('event: '))) {
          client.failures.push(data);
          continue;
        }
        const id = lines.find((line) => line.startsWith('id: '));
        if (id !== undefined) client.ids.push(Number(id.slice(4)));
        client.events.push(runEventSchema.parse(JSON.parse(data.slice(6))));
        first.open();
      }
    }
  })();
  // Awaited by the test; a stream cut by a failed test's cleanup is no unhandled rejection.
  ended.catch(() => undefined);
  return { ...client, ended };
}

/** A fresh PostgreSQL schema, 1 `runyard api` and 2 `runyard worker` processes, an agent with the charge tool. */
async function deploy(model: string, chargeUrl: string) {
  const { databaseUrl, dataDirectory } = await freshDeployment(cleanups, 'runyard-durability-tool-');
  const environment = {
    DATABASE_URL: databaseUrl,
    RUNYARD_MASTER_KEY: randomBytes(32).toString('hex'),
    RUNYARD_BOOTSTRAP_KEY: bootstrapKey,
    RUNYARD_DATA_DIR: dataDirectory,
    RUNYARD_PORT: '0',
    RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
    RUNYARD_RUN_LEASE_MS: String(leaseMs),
    RUNYARD_SHUTDOWN_GRACE_MS: '1000',
    // Workers log each claim at info.
    RUNYARD_LOG_LEVEL: 'info',
  };
  const [api, ...workers] = await Promise.all([
    processes.start('api', { ...environment, RUNYARD_LOG_LEVEL: 'warn' }),
    processes.start('worker', environment),
    processes.start('worker', environment),
  ]);
  const admin = new Runyard({ baseUrl: api.url!, apiKey: bootstrapKey, maxRetries: 0 });
  await admin.secrets.create({ name: 'MOCK_KEY', value: mockKey });
  await admin.providers.create({
    name: 'openai',
    kind: 'openai',
    baseUrl: `${mock().url}/v1`,
    apiKey: { secret: 'MOCK_KEY' },
  });
  await admin.tools.create({
    name: 'charge',
    kind: 'http',
    description: 'Charges the card on file.',
    baseUrl: chargeUrl,
    method: 'POST',
    path: '/charges',
    inputSchema: {
      type: 'object',
      properties: { amount: { type: 'integer' }, currency: { type: 'string' } },
      required: ['amount', 'currency'],
    },
    timeoutMs: 120_000,
  });
  // Egress is denied by default: the loopback charge API is allowed by a rule naming its host.
  await admin.policies.create({
    name: 'charge-api',
    rules: [{ effect: 'allow', resource: `${chargeUrl}/charges`, operations: ['POST'] }],
  });
  await admin.agents.create({
    slug: 'charger',
    name: 'Charger',
    model: `openai/${model}`,
    instructions: 'Charge the card when asked to.',
    tools: ['charge'],
    policies: ['charge-api'],
  });
  return { api, workers, admin };
}

/**
 * The model of one test: step 1 calls `charge` once, when `firstStep` opens; step 2 answers, so slowly
 * while `slowSecondStep.value` is set that the step is still in flight when the test kills its worker.
 */
function modelCallingChargeOnce(model: string, firstStep: Gate, slowSecondStep = { value: false }): void {
  mock().on(
    { model, predicate: (request) => slowSecondStep.value && afterToolResult(request) },
    { content: 'This answer arrives far too late.' },
    { latency: slowChunkMs },
  );
  mock().on({ model, predicate: afterToolResult }, { content: answer });
  mock().on({ model }, async () => {
    await firstStep.opened;
    return {
      toolCalls: [
        { id: toolCallId, name: 'charge', arguments: JSON.stringify({ amount: 1200, currency: 'eur' }) },
      ],
    };
  });
}

/** The model requests without a tool result yet, and those after one. */
function modelRequests(model: string): { first: number; afterTool: number } {
  const bodies = journalOf(mock(), model).map((entry) => entry.body as ChatCompletionRequest);
  return {
    first: bodies.filter((body) => !afterToolResult(body)).length,
    afterTool: bodies.filter((body) => afterToolResult(body)).length,
  };
}

/** Of the two workers, which one claimed the run first, and the other. */
async function ownerOf(workers: RunyardProcess[], runId: string) {
  const index = await waitUntil(
    () => {
      const found = workers.findIndex((worker) => claimsOf(worker).some((claim) => claim.runId === runId));
      return found === -1 ? undefined : found;
    },
    { what: 'a worker to claim the run' },
  );
  return { owner: workers[index]!, other: workers[1 - index]! };
}

const claimsOf = (worker: RunyardProcess) =>
  logsWithMessage(worker, 'claimed run').map((line) => ({ runId: line.runId, claims: line.claims }));

/** The process dies at once, as on a crash or an OOM kill: no drain, no lease released. */
async function kill(worker: RunyardProcess): Promise<void> {
  worker.child.kill('SIGKILL');
  expect(await exitOf(worker)).toEqual({ code: null, signal: 'SIGKILL' });
}

async function ended(admin: Runyard, runId: string): Promise<Run> {
  return waitUntil(() => admin.runs.get(runId), {
    what: `run ${runId} to end`,
    until: (run) => run.status !== 'queued' && run.status !== 'running',
    timeoutMs: 40_000,
  });
}

const stepStarts = (events: readonly RunEvent[], step: number) =>
  events.filter((event) => event.type === 'step-start' && event.step === step);

/** The run succeeded; the SSE client saw, on one connection, exactly the stored log, 1..N to run-end. */
async function expectSucceededAndStreamed(admin: Runyard, runId: string, stream: StreamClient) {
  expect(await ended(admin, runId)).toMatchObject({
    status: 'succeeded',
    error: null,
    iterations: 2,
    output: { text: answer },
  });
  await within('the SSE stream to end', stream.ended);
  const events = await admin.runs.events(runId);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events[0]?.type).toBe('run-start');
  expect(events.filter((event) => event.type === 'run-start')).toHaveLength(1);
  expect(events.filter((event) => event.type === 'run-end')).toHaveLength(1);
  expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
  expect(stream.failures).toEqual([]);
  expect(stream.ids).toEqual(events.map((event) => event.seq));
  expect(stream.events).toEqual(events);
  // One tool call, made in the one model step 1, and one tool result for it.
  expect(stepStarts(events, 1)).toHaveLength(1);
  expect(events.filter((event) => event.type === 'tool-call')).toEqual([
    expect.objectContaining({ step: 1, toolCallId, toolName: 'charge' }),
  ]);
  expect(events.filter((event) => event.type === 'tool-result')).toEqual([
    expect.objectContaining({
      step: 1,
      toolCallId,
      isError: false,
      output: expect.objectContaining({ status: 201, body: { id: 'ch_1', amount: 1200 } }) as unknown,
    }),
  ]);
  return events;
}

describe('a worker killed while its run calls an http tool', () => {
  it.skipIf(skip)(
    'during the slow call: the other worker resumes, calls again with the same key, the charge happens once',
    async () => {
      const model = 'gpt-durable-tool-slow';
      const chargeApi = await startChargeApi(true);
      const { api, workers, admin } = await deploy(model, chargeApi.url);
      const streamConnected = gate();
      modelCallingChargeOnce(model, streamConnected);

      const run = await admin.runs.create('charger', { input: 'Charge 12 euros.', mode: 'background' });
      // The SSE client of the API process is connected (and has seen run-start) before step 1 answers.
      const stream = await openStream(api.url!, run.id);
      await within('the first streamed event', stream.firstEvent);
      streamConnected.open();

      await within('the charge request', chargeApi.firstRequest.opened);
      const { owner, other } = await ownerOf(workers, run.id);
      // The step that asked for the charge was stored before the charge was sent.
      const beforeKill = await admin.runs.events(run.id);
      expect(beforeKill.filter((event) => event.type === 'step-end' && event.step === 1)).toHaveLength(1);
      expect(beforeKill.filter((event) => event.type === 'tool-result')).toEqual([]);
      await kill(owner);

      const events = await expectSucceededAndStreamed(admin, run.id, stream);
      // Everything the dead worker stored is still there, unchanged.
      expect(events.slice(0, beforeKill.length)).toEqual(beforeKill);

      // The call was sent twice (at-least-once), both times with the run's key; charged once.
      expect(chargeApi.requests).toEqual([
        {
          idempotencyKey: `${run.id}:${toolCallId}`,
          body: { amount: 1200, currency: 'eur' },
          replayed: false,
        },
        {
          idempotencyKey: `${run.id}:${toolCallId}`,
          body: { amount: 1200, currency: 'eur' },
          replayed: true,
        },
      ]);
      expect(chargeApi.charges).toEqual([{ id: 'ch_1', amount: 1200 }]);

      // Step 1 was not redone: the model was asked for the charge once, and answered once after it.
      expect(modelRequests(model)).toEqual({ first: 1, afterTool: 1 });
      expect(claimsOf(owner)).toEqual([{ runId: run.id, claims: 1 }]);
      expect(claimsOf(other)).toEqual([{ runId: run.id, claims: 2 }]);

      for (const runyard of [other, api])
        expect(await stopRunyard(runyard)).toEqual({ code: 0, signal: null });
    },
    60_000,
  );

  it.skipIf(skip)(
    'after the tool result is stored: the other worker redoes only the model step, the tool is not called again',
    async () => {
      const model = 'gpt-durable-tool-after';
      const chargeApi = await startChargeApi(false);
      const { api, workers, admin } = await deploy(model, chargeApi.url);
      const streamConnected = gate();
      const slowSecondStep = { value: true };
      modelCallingChargeOnce(model, streamConnected, slowSecondStep);

      const run = await admin.runs.create('charger', { input: 'Charge 12 euros.', mode: 'background' });
      const stream = await openStream(api.url!, run.id);
      await within('the first streamed event', stream.firstEvent);
      streamConnected.open();

      // The tool result is stored and step 2's model call is in flight.
      await waitUntil(() => modelRequests(model).afterTool === 1, { what: 'the step 2 model request' });
      const beforeKill = await waitUntil(() => admin.runs.events(run.id), {
        what: 'the stored tool result',
        until: (events) => events.some((event) => event.type === 'tool-result'),
      });
      const { owner, other } = await ownerOf(workers, run.id);
      slowSecondStep.value = false;
      await kill(owner);

      const events = await expectSucceededAndStreamed(admin, run.id, stream);
      expect(events.slice(0, beforeKill.length)).toEqual(beforeKill);
      expect(stepStarts(events, 2)).toHaveLength(2);

      // The finished call was not executed again: one request, one charge.
      expect(chargeApi.requests).toEqual([
        {
          idempotencyKey: `${run.id}:${toolCallId}`,
          body: { amount: 1200, currency: 'eur' },
          replayed: false,
        },
      ]);
      expect(chargeApi.charges).toEqual([{ id: 'ch_1', amount: 1200 }]);
      expect(modelRequests(model)).toEqual({ first: 1, afterTool: 2 });
      expect(claimsOf(owner)).toEqual([{ runId: run.id, claims: 1 }]);
      expect(claimsOf(other)).toEqual([{ runId: run.id, claims: 2 }]);

      for (const runyard of [other, api])
        expect(await stopRunyard(runyard)).toEqual({ code: 0, signal: null });
    },
    60_000,
  );
});
