import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatCompletionRequest } from '@copilotkit/aimock';
import { routes, runEventSchema, type Run, type RunEvent } from '@runyard/protocol';
import { Runyard } from '@runyard/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresAvailable, temporaryDirectory, type BackendName } from '../support/backends.ts';
import { endedRunStatuses, waitForRunStatus, waitUntil } from '../support/wait-until.ts';
import { afterToolResult, journalOf, mockKey, useModelMock } from '../support/model-path.ts';
import { isolatedPostgres } from '../support/postgres.ts';
import { unusedPort } from '../support/ports.ts';

// A run survives a restart of its process: it is resumed or failed with a reason, never left running.

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const binary = path.join(repositoryRoot, 'packages/cli/bin/runyard.js');
const bootstrapKey = 'ry_durability_bootstrap_key_0123456789';
/** The lease of runs where the test waits for it to expire (PostgreSQL, repeated deaths). */
const shortLeaseMs = 2000;
const startTimeoutMs = 20_000;
/** Long enough that a step waiting for it is still in flight whenever the test kills its process. */
const slowChunkMs = 20_000;

const mock = useModelMock();

interface RunyardProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<void>;
}

const running: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `runyard start` as a real process, without any inherited Runyard setting; resolves once it listens. */
async function startRunyard(environment: Record<string, string>): Promise<RunyardProcess> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('RUNYARD_') && name !== 'DATABASE_URL'),
  );
  const child = spawn(process.execPath, [binary, 'start'], {
    cwd: repositoryRoot,
    env: { ...inherited, ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`runyard start exited with ${child.exitCode}`);
      return /listening on (http:\/\/\S+)/.exec(output)?.[1];
    },
    { what: 'runyard start to listen', timeoutMs: startTimeoutMs },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}:\n${output}`);
  });
  return { child, url, output: () => output, exited };
}

/** The process dies at once, as on a crash or an OOM kill: no shutdown, no lease released. */
async function killRunyard(runyard: RunyardProcess): Promise<void> {
  runyard.child.kill('SIGKILL');
  await runyard.exited;
}

async function stopRunyard(runyard: RunyardProcess): Promise<void> {
  runyard.child.kill('SIGTERM');
  await runyard.exited;
}

const stepStarts = (events: readonly RunEvent[], step: number) =>
  events.filter((event) => event.type === 'step-start' && event.step === step);

/** GET /v1/runs/{id}/stream from seq 0, read to its end: the SSE ids and events. */
async function readStream(
  url: string,
  runId: string,
): Promise<{ status: number; openedAt: number; ids: number[]; events: RunEvent[] }> {
  const response = await fetch(`${url}/v1/runs/${runId}/stream`, {
    headers: { authorization: `Bearer ${bootstrapKey}`, accept: 'text/event-stream' },
    signal: AbortSignal.timeout(30_000),
  });
  const openedAt = Date.now();
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
  return { status: response.status, openedAt, ids, events };
}

interface Scenario {
  environment: Record<string, string>;
  model: string;
  /** While true, the model's answer after the tool result never arrives in time. */
  slow: { value: boolean };
}

/**
 * A fresh database (SQLite in a temporary data directory, or an isolated PostgreSQL schema) and a
 * model whose first answer calls `echo` and whose answer after the tool result is slow while
 * `slow.value` is set (the step is in flight when the process dies), else streamed in ~2.5 s.
 */
async function prepare(backend: BackendName, label: string, leaseMs: number): Promise<Scenario> {
  const dataDirectory = temporaryDirectory('runyard-durability-');
  cleanups.push(() => fs.rmSync(dataDirectory, { recursive: true, force: true }));
  const environment: Record<string, string> = {
    RUNYARD_PORT: String(await unusedPort()),
    RUNYARD_DATA_DIR: dataDirectory,
    RUNYARD_BOOTSTRAP_KEY: bootstrapKey,
    RUNYARD_RUN_LEASE_MS: String(leaseMs),
    RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
    RUNYARD_SHUTDOWN_GRACE_MS: '1000',
    RUNYARD_LOG_LEVEL: 'warn',
  };
  if (backend === 'postgres') {
    const postgres = await isolatedPostgres();
    if (postgres === undefined) throw new Error('PostgreSQL is not reachable');
    cleanups.push(postgres.drop);
    environment.DATABASE_URL = postgres.databaseUrl;
    environment.RUNYARD_MASTER_KEY = randomBytes(32).toString('hex');
  }
  const model = `gpt-durable-${label}-${backend}`;
  const slow = { value: true };
  const answer = 'The echo tool returned the word durable, so the run is done now.';
  mock().on(
    { model, predicate: (request: ChatCompletionRequest) => slow.value && afterToolResult(request) },
    { content: 'This answer arrives far too late.' },
    { latency: slowChunkMs },
  );
  mock().on({ model, predicate: afterToolResult }, { content: answer }, { chunkSize: 4, latency: 150 });
  mock().on({ model }, { toolCalls: [{ id: 'call_durable', name: 'echo', arguments: { text: 'durable' } }] });
  return { environment, model, slow };
}

async function setUp(runyard: RunyardProcess, model: string): Promise<{ admin: Runyard; runId: string }> {
  const admin = new Runyard({ baseUrl: runyard.url, apiKey: bootstrapKey, maxRetries: 0 });
  await admin.secrets.create({ name: 'MOCK_KEY', value: mockKey });
  await admin.providers.create({
    name: 'openai',
    kind: 'openai',
    baseUrl: `${mock().url}/v1`,
    apiKey: { secret: 'MOCK_KEY' },
  });
  await admin.agents.create({
    slug: 'durable',
    name: 'Durable',
    model: `openai/${model}`,
    instructions: 'Use the echo tool when asked to.',
    tools: ['echo'],
  });
  const response = await admin.transport.call(routes.createAgentRun, {
    params: { idOrSlug: 'durable' },
    body: { input: 'Echo the word durable, then tell me what came back.', mode: 'background' },
  });
  expect(response.status).toBe(202);
  return { admin, runId: response.data.id };
}

/** Waits until the run is in its step 2 for the `attempt`-th time (its model call in flight). */
function inStepTwo(admin: Runyard, runId: string, attempt: number): Promise<RunEvent[]> {
  return waitUntil(() => admin.runs.events(runId), {
    what: `step 2 to start (${attempt})`,
    until: (events) =>
      events.filter((event) => event.type === 'tool-result' && event.step === 1).length === 1 &&
      stepStarts(events, 2).length >= attempt,
  });
}

function expectContinuous(events: readonly RunEvent[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events[0]?.type).toBe('run-start');
  expect(events.filter((event) => event.type === 'run-start')).toHaveLength(1);
  expect(events.filter((event) => event.type === 'run-end')).toHaveLength(1);
  expect(events.at(-1)?.type).toBe('run-end');
}

/** The model requests of this scenario: the first one (no tool result yet), and those after it. */
function modelRequests(model: string): { first: number; afterTool: number } {
  const bodies = journalOf(mock(), model).map((entry) => entry.body as ChatCompletionRequest);
  return {
    first: bodies.filter((body) => !afterToolResult(body)).length,
    afterTool: bodies.filter((body) => afterToolResult(body)).length,
  };
}

async function killMidStepAndResume(backend: BackendName, leaseMs: number): Promise<void> {
  const { environment, model, slow } = await prepare(backend, 'resume', leaseMs);
  const first = await startRunyard(environment);
  const { admin, runId } = await setUp(first, model);

  // Step 1 (the echo call and its result) is stored; step 2's model call is in flight.
  const beforeKill = await inStepTwo(admin, runId, 1);
  await waitUntil(() => modelRequests(model).afterTool === 1, { what: 'the step 2 model request' });
  await killRunyard(first);
  const killedAt = Date.now();
  slow.value = false;

  const second = await startRunyard(environment);
  const adminAgain = new Runyard({ baseUrl: second.url, apiKey: bootstrapKey, maxRetries: 0 });
  // An SSE client of the new process, from the very first event.
  const streamed = await readStream(second.url, runId);
  expect(streamed.status).toBe(200);

  const run: Run = await waitForRunStatus(adminAgain, runId, endedRunStatuses);
  expect(run).toMatchObject({
    status: 'succeeded',
    error: null,
    iterations: 2,
    output: { text: 'The echo tool returned the word durable, so the run is done now.' },
  });

  const events = await adminAgain.runs.events(runId);
  expectContinuous(events);
  // What the first process stored is still there, unchanged.
  expect(events.slice(0, beforeKill.length)).toEqual(beforeKill);
  // Step 1 was not redone: one tool call, one tool result, one model request without a tool result.
  expect(events.filter((event) => event.type === 'tool-call')).toHaveLength(1);
  expect(events.filter((event) => event.type === 'tool-result')).toEqual([
    expect.objectContaining({ step: 1, toolCallId: 'call_durable', output: 'durable', isError: false }),
  ]);
  expect(events.filter((event) => event.type === 'step-start' && event.step === 1)).toHaveLength(1);
  expect(modelRequests(model)).toEqual({ first: 1, afterTool: 2 });
  // Step 2 started again in the second process, after everything the first one stored.
  const starts = stepStarts(events, 2);
  expect(starts).toHaveLength(2);
  const lastBeforeKill = beforeKill.at(-1)?.seq ?? 0;
  expect(starts[1]!.seq).toBeGreaterThan(lastBeforeKill);
  const resumedAfterMs = Date.parse(starts[1]!.at) - killedAt;
  if (backend === 'sqlite') {
    // The only process on its database: the run it finds running is orphaned and resumed at once,
    // not after its (30 s) lease nor at the worker's first sweep (a third of it).
    expect(resumedAfterMs).toBeLessThan(leaseMs / 3);
  } else {
    // Another process may still hold the run: it is resumed only once its lease has expired
    // (renewed every third of the lease, so at least two thirds of it after the kill).
    expect(resumedAfterMs).toBeGreaterThanOrEqual(leaseMs / 3);
  }
  expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });

  // The SSE client, connected while the run was live, saw one continuous log equal to the stored one.
  expect(streamed.openedAt).toBeLessThan(Date.parse(events.at(-1)!.at));
  expect(streamed.ids).toEqual(events.map((event) => event.seq));
  expect(streamed.events).toEqual(events);

  const thread = await adminAgain.threads.messages(run.threadId ?? '');
  expect(thread.data.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  expect((await adminAgain.runs.list({ status: 'running' })).data).toEqual([]);
  await stopRunyard(second);
}

describe('a run survives a restart of its process', () => {
  it('SQLite: killed mid-step, it resumes from its journal when the process starts again', async () => {
    await killMidStepAndResume('sqlite', 30_000);
  }, 40_000);

  it.skipIf(!postgresAvailable)(
    'PostgreSQL: killed mid-step, it resumes once its lease has expired',
    async () => {
      await killMidStepAndResume('postgres', shortLeaseMs);
    },
    40_000,
  );

  it('a run whose process keeps dying ends failed with WORKER_LOST, never left running', async () => {
    const { environment, model } = await prepare('sqlite', 'lost', shortLeaseMs);
    let runyard = await startRunyard(environment);
    const { runId } = await setUp(runyard, model);
    // maxClaims is 3: the process dies in step 2 of each of the first three claims.
    for (let claim = 1; claim <= 3; claim += 1) {
      const admin = new Runyard({ baseUrl: runyard.url, apiKey: bootstrapKey, maxRetries: 0 });
      await inStepTwo(admin, runId, claim);
      await waitUntil(() => modelRequests(model).afterTool === claim, {
        what: `step 2 model request ${claim}`,
      });
      await killRunyard(runyard);
      runyard = await startRunyard(environment);
    }
    const admin = new Runyard({ baseUrl: runyard.url, apiKey: bootstrapKey, maxRetries: 0 });
    const run = await waitForRunStatus(admin, runId, endedRunStatuses);
    expect(run).toMatchObject({
      status: 'failed',
      output: null,
      error: { code: 'WORKER_LOST', message: expect.stringContaining('3 times') as unknown },
    });
    const events = await admin.runs.events(runId);
    expectContinuous(events);
    expect(events.slice(-2)).toMatchObject([
      { type: 'error', code: 'WORKER_LOST', retrying: false },
      { type: 'run-end', status: 'failed', error: { code: 'WORKER_LOST' } },
    ]);
    expect(events.filter((event) => event.type === 'tool-result')).toHaveLength(1);
    expect(stepStarts(events, 2)).toHaveLength(3);
    // The fourth claim only ended the run: no model call.
    expect(modelRequests(model)).toEqual({ first: 1, afterTool: 3 });
    expect((await admin.runs.list({ status: 'running' })).data).toEqual([]);
    await stopRunyard(runyard);
  }, 50_000);
});
