import { randomBytes } from 'node:crypto';
import type { ChatCompletionRequest } from '@copilotkit/aimock';
import type { Run, RunEvent } from '@runyard/protocol';
import { Runyard } from '@runyard/sdk';
import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../support/backends.ts';
import { afterToolResult, journalOf, mockKey, useModelMock } from '../support/model-path.ts';
import { freshDeployment, useCleanups, within } from '../support/harness.ts';
import {
  exitOf,
  logsWithMessage,
  stopRunyard,
  useRunyardProcesses,
  type RunyardProcess,
} from '../support/processes.ts';
import { waitUntil } from '../support/wait-until.ts';

// Scale-out on PostgreSQL: `runyard api` and `runyard worker` processes share one database. Workers
// claim with SKIP LOCKED and wake on LISTEN/NOTIFY; live events reach an SSE client of the API process
// whichever worker runs the run; a worker on SIGTERM drains, then releases what is left.

const bootstrapKey = 'ry_scale_out_bootstrap_key_0123456789';
const backgroundRuns = 200;
/** Runs created at once, per batch. */
const creationBatch = 20;
/** Small, so that one worker cannot take every run of a batch: both must work. */
const workerConcurrency = 8;
/** Long enough that a step waiting for it is still in flight whenever the test stops its worker. */
const slowChunkMs = 20_000;
const skip = !postgresAvailable;

const mock = useModelMock();

// Opens what the tests held back (so no request stays open), then removes schemas and files.
const { cleanups, gate } = useCleanups();
// Registered last, so its afterEach runs first: stray processes are gone before their schema is dropped.
const processes = useRunyardProcesses();

/** A fresh PostgreSQL schema and the environment every process of one deployment shares. */
async function prepare(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const { databaseUrl, dataDirectory } = await freshDeployment(cleanups, 'runyard-scale-out-');
  return {
    DATABASE_URL: databaseUrl,
    RUNYARD_MASTER_KEY: randomBytes(32).toString('hex'),
    RUNYARD_BOOTSTRAP_KEY: bootstrapKey,
    RUNYARD_DATA_DIR: dataDirectory,
    RUNYARD_PORT: '0',
    RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
    RUNYARD_WORKER_CONCURRENCY: String(workerConcurrency),
    // Workers log each claim at info; the API's request lines are not needed.
    RUNYARD_LOG_LEVEL: 'info',
    ...overrides,
  };
}

/** One `runyard api` and `workers` `runyard worker` processes, started together, and an admin client. */
async function deploy(
  environment: Record<string, string>,
  workers: number,
): Promise<{ api: RunyardProcess; workers: RunyardProcess[]; admin: Runyard }> {
  const [api, ...started] = await Promise.all([
    processes.start('api', { ...environment, RUNYARD_LOG_LEVEL: 'warn' }),
    ...Array.from({ length: workers }, () => processes.start('worker', environment)),
  ]);
  const admin = new Runyard({ baseUrl: api.url!, apiKey: bootstrapKey, maxRetries: 0 });
  await admin.secrets.create({ name: 'MOCK_KEY', value: mockKey });
  await admin.providers.create({
    name: 'openai',
    kind: 'openai',
    baseUrl: `${mock().url}/v1`,
    apiKey: { secret: 'MOCK_KEY' },
  });
  return { api, workers: started, admin };
}

/** The text of the request's first user message, where each test puts a tag naming its run. */
function userText(request: ChatCompletionRequest): string {
  const content = request.messages.find((message) => message.role === 'user')?.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => ('text' in part ? String(part.text) : '')).join('');
}

const tagOf = (request: ChatCompletionRequest): string => /\brun-\w+/.exec(userText(request))?.[0] ?? '';

/** Per tag, the model requests without a tool result yet and those after one. */
function requestsByTag(model: string): Map<string, { first: number; afterTool: number }> {
  const counts = new Map<string, { first: number; afterTool: number }>();
  for (const entry of journalOf(mock(), model)) {
    const body = entry.body as ChatCompletionRequest;
    const count = counts.get(tagOf(body)) ?? { first: 0, afterTool: 0 };
    if (afterToolResult(body)) count.afterTool += 1;
    else count.first += 1;
    counts.set(tagOf(body), count);
  }
  return counts;
}

interface Claim {
  runId: string;
  claims: number;
  worker: string;
}

/** The `claimed run` log lines of a worker process. */
const claimsOf = (worker: RunyardProcess): Claim[] =>
  logsWithMessage(worker, 'claimed run').map((line) => line as unknown as Claim);

async function ended(admin: Runyard, runId: string, timeoutMs = 20_000): Promise<Run> {
  return waitUntil(() => admin.runs.get(runId), {
    what: `run ${runId} to end`,
    until: (run) => run.status !== 'queued' && run.status !== 'running',
    timeoutMs,
  });
}

function expectContinuous(events: readonly RunEvent[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events[0]?.type).toBe('run-start');
  expect(events.filter((event) => event.type === 'run-start')).toHaveLength(1);
  expect(events.filter((event) => event.type === 'run-end')).toHaveLength(1);
  expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
}

const stepStarts = (events: readonly RunEvent[], step: number) =>
  events.filter((event) => event.type === 'step-start' && event.step === step);

describe('1 api and 2 worker processes on PostgreSQL', () => {
  it.skipIf(skip)(
    `runs ${backgroundRuns} background runs, each once, on both workers; SSE on the api sees a worker's events live`,
    async () => {
      const { api, workers, admin } = await deploy(await prepare(), 2);

      // Live fan-out: the API process runs nothing, so every event an SSE client of it receives after
      // connecting was written by a worker process and announced through NOTIFY.
      const liveModel = 'gpt-scale-live';
      const answerHeld = gate();
      mock().on({ model: liveModel }, async () => {
        await answerHeld.opened;
        return { content: 'Live from a worker process, word by word.' };
      });
      await admin.agents.create({ slug: 'live', name: 'Live', model: `openai/${liveModel}` });
      const live = await admin.runs.create('live', { input: 'Say something.', mode: 'background' });
      const stream = admin.runs.follow(live.id);
      const first = await within('the first streamed event', stream.next());
      expect(first.value).toMatchObject({ type: 'run-start', seq: 1 });
      const releasedAt = Date.now();
      answerHeld.open();
      const streamed: RunEvent[] = [first.value as RunEvent];
      const rest = (async () => {
        for await (const event of stream) streamed.push(event);
      })();
      await within('the streamed run-end', rest, 20_000);
      const stored = await admin.runs.events(live.id);
      expect(streamed).toEqual(stored);
      expectContinuous(stored);
      const liveText = stored.filter((event) => event.type === 'text-delta');
      expect(liveText.length).toBeGreaterThan(1);
      // Written after the client connected: the worker could not answer before.
      expect(Date.parse(liveText[0]!.at)).toBeGreaterThanOrEqual(releasedAt);

      // The 200 runs: each calls echo with its tag, then answers with what came back.
      const model = 'gpt-scale-out';
      mock().on(
        { model, predicate: (request) => !afterToolResult(request) },
        (request) => ({
          toolCalls: [
            {
              id: `call_${tagOf(request)}`,
              name: 'echo',
              arguments: JSON.stringify({ text: tagOf(request) }),
            },
          ],
        }),
        { latency: 10 },
      );
      mock().on(
        { model, predicate: afterToolResult },
        (request) => ({ content: `The echo of ${tagOf(request)} came back.` }),
        { latency: 10 },
      );
      await admin.agents.create({
        slug: 'scale',
        name: 'Scale',
        model: `openai/${model}`,
        instructions: 'Echo the tag you are given, then say what came back.',
        tools: ['echo'],
      });
      const created: Run[] = [];
      for (let batch = 0; batch < backgroundRuns; batch += creationBatch) {
        created.push(
          ...(await Promise.all(
            Array.from({ length: creationBatch }, (_, offset) =>
              admin.runs.create('scale', { input: `Echo run-${batch + offset}.`, mode: 'background' }),
            ),
          )),
        );
      }
      expect(created.every((run) => run.status === 'queued')).toBe(true);
      // Cheap probes (one row each), so that waiting does not load the machine the workers share.
      await waitUntil(
        async () => {
          for (const status of ['queued', 'running'] as const) {
            if ((await admin.runs.list({ agent: 'scale', status, limit: 1 })).data.length > 0) return false;
          }
          return true;
        },
        { what: `the ${backgroundRuns} runs to end`, timeoutMs: 60_000, intervalMs: 100 },
      );
      const runs = (await admin.runs.list({ agent: 'scale', limit: backgroundRuns })).data;

      // All succeeded, each with the answer to its own input.
      const tags = new Map(created.map((run, index) => [run.id, `run-${index}`]));
      expect(new Set(runs.map((run) => run.id))).toEqual(new Set(tags.keys()));
      for (const run of runs) {
        expect(run).toMatchObject({
          status: 'succeeded',
          error: null,
          iterations: 2,
          output: { text: `The echo of ${tags.get(run.id)} came back.` },
        });
      }

      // Both workers worked, and each run was claimed exactly once, by one of them.
      const claims = workers.map((worker) => claimsOf(worker).filter((claim) => tags.has(claim.runId)));
      expect(claims[0]!.length, 'runs of worker 1').toBeGreaterThan(0);
      expect(claims[1]!.length, 'runs of worker 2').toBeGreaterThan(0);
      const allClaims = claims.flat();
      expect(allClaims).toHaveLength(backgroundRuns);
      expect(new Set(allClaims.map((claim) => claim.runId))).toEqual(new Set(tags.keys()));
      expect(allClaims.every((claim) => claim.claims === 1)).toBe(true);
      expect(new Set(claims.map((list) => list[0]?.worker)).size).toBe(2);

      // None ran twice: the model saw each run's two requests exactly once.
      const requests = requestsByTag(model);
      expect(requests.size).toBe(backgroundRuns);
      for (const tag of tags.values()) expect(requests.get(tag), tag).toEqual({ first: 1, afterTool: 1 });

      // And each run's log holds one run, one step 1 and one step 2.
      for (let index = 0; index < runs.length; index += creationBatch) {
        const logs = await Promise.all(
          runs.slice(index, index + creationBatch).map((run) => admin.runs.events(run.id)),
        );
        for (const events of logs) {
          expectContinuous(events);
          expect(stepStarts(events, 1)).toHaveLength(1);
          expect(stepStarts(events, 2)).toHaveLength(1);
        }
      }

      for (const runyard of [...workers, api])
        expect(await stopRunyard(runyard)).toEqual({ code: 0, signal: null });
    },
    120_000,
  );
});

describe('a worker on SIGTERM', () => {
  it.skipIf(skip)(
    'lets its run finish within the grace period, claims nothing new, and exits 0',
    async () => {
      const environment = await prepare({ RUNYARD_SHUTDOWN_GRACE_MS: '30000' });
      const { api, workers, admin } = await deploy(environment, 1);
      const draining = workers[0]!;
      const model = 'gpt-drain-finish';
      const firstArrived = gate();
      const answerHeld = gate();
      mock().on({ model }, async (request) => {
        if (tagOf(request) === 'run-first') {
          firstArrived.open();
          await answerHeld.opened;
        }
        return { content: `Finished ${tagOf(request)}.` };
      });
      await admin.agents.create({ slug: 'drain', name: 'Drain', model: `openai/${model}` });

      const first = await admin.runs.create('drain', { input: 'This is run-first.', mode: 'background' });
      await within('the first run to call the model', firstArrived.opened);
      draining.child.kill('SIGTERM');
      await waitUntil(() => logsWithMessage(draining, 'worker draining').length > 0, {
        what: 'the worker to start draining',
      });
      // Created while the worker drains: it must not take it, even when its run ends and frees a slot.
      const second = await admin.runs.create('drain', { input: 'This is run-second.', mode: 'background' });
      answerHeld.open();

      expect(await exitOf(draining), draining.output()).toEqual({ code: 0, signal: null });
      expect(await admin.runs.get(first.id)).toMatchObject({
        status: 'succeeded',
        output: { text: 'Finished run-first.' },
      });
      expect((await admin.runs.get(second.id)).status).toBe('queued');
      expect(claimsOf(draining).map(({ runId, claims }) => ({ runId, claims }))).toEqual([
        { runId: first.id, claims: 1 },
      ]);
      expect(logsWithMessage(draining, 'worker draining')).toMatchObject([{ runs: 1, graceMs: 30_000 }]);
      expect(logsWithMessage(draining, 'worker stopped')).toMatchObject([{ finished: 1, released: 0 }]);

      // The next worker takes the run that waited.
      const next = await processes.start('worker', environment);
      expect(await ended(admin, second.id)).toMatchObject({
        status: 'succeeded',
        output: { text: 'Finished run-second.' },
      });
      expect(claimsOf(next).map(({ runId, claims }) => ({ runId, claims }))).toEqual([
        { runId: second.id, claims: 1 },
      ]);
      const requests = requestsByTag(model);
      expect(Object.fromEntries(requests)).toEqual({
        'run-first': { first: 1, afterTool: 0 },
        'run-second': { first: 1, afterTool: 0 },
      });
      for (const runyard of [next, api])
        expect(await stopRunyard(runyard)).toEqual({ code: 0, signal: null });
    },
    60_000,
  );

  it.skipIf(skip)(
    'releases a run that outlasts the grace period; the other worker resumes it without redoing step 1',
    async () => {
      // A lease far longer than the test: only the release (and its signal) can explain a resumption.
      const environment = await prepare({
        RUNYARD_SHUTDOWN_GRACE_MS: '1000',
        RUNYARD_RUN_LEASE_MS: '120000',
      });
      const { api, workers, admin } = await deploy(environment, 2);
      const model = 'gpt-drain-release';
      const slow = { value: true };
      const answer = 'The echo tool returned released, so the run is done.';
      mock().on(
        { model, predicate: (request) => slow.value && afterToolResult(request) },
        { content: 'This answer arrives far too late.' },
        { latency: slowChunkMs },
      );
      mock().on({ model, predicate: afterToolResult }, { content: answer });
      mock().on(
        { model },
        { toolCalls: [{ id: 'call_released', name: 'echo', arguments: { text: 'released' } }] },
      );
      await admin.agents.create({
        slug: 'release',
        name: 'Release',
        model: `openai/${model}`,
        instructions: 'Use the echo tool when asked to.',
        tools: ['echo'],
      });

      const run = await admin.runs.create('release', {
        input: 'Echo released (run-release).',
        mode: 'background',
      });
      const ownerIndex = await waitUntil(
        () => {
          const index = workers.findIndex((worker) =>
            claimsOf(worker).some((claim) => claim.runId === run.id),
          );
          return index === -1 ? undefined : index;
        },
        { what: 'a worker to claim the run' },
      );
      const owner = workers[ownerIndex]!;
      const other = workers[1 - ownerIndex]!;
      // Step 1 (the echo call and its result) is stored; step 2's model call is in flight.
      await waitUntil(() => requestsByTag(model).get('run-release')?.afterTool === 1, {
        what: 'the step 2 model request',
      });
      slow.value = false;
      expect(await stopRunyard(owner), owner.output()).toEqual({ code: 0, signal: null });
      expect(logsWithMessage(owner, 'worker stopped')).toMatchObject([{ finished: 0, released: 1 }]);

      expect(await ended(admin, run.id, 30_000)).toMatchObject({
        status: 'succeeded',
        error: null,
        iterations: 2,
        output: { text: answer },
      });
      expect(claimsOf(owner).map(({ runId, claims }) => ({ runId, claims }))).toEqual([
        { runId: run.id, claims: 1 },
      ]);
      expect(claimsOf(other).map(({ runId, claims }) => ({ runId, claims }))).toEqual([
        { runId: run.id, claims: 2 },
      ]);

      // Step 1 was not redone: one model request without a tool result, one echo; step 2 twice.
      expect(requestsByTag(model).get('run-release')).toEqual({ first: 1, afterTool: 2 });
      const events = await admin.runs.events(run.id);
      expectContinuous(events);
      expect(events.filter((event) => event.type === 'tool-result')).toEqual([
        expect.objectContaining({ step: 1, toolCallId: 'call_released', output: 'released', isError: false }),
      ]);
      expect(stepStarts(events, 1)).toHaveLength(1);
      expect(stepStarts(events, 2)).toHaveLength(2);

      for (const runyard of [other, api])
        expect(await stopRunyard(runyard)).toEqual({ code: 0, signal: null });
    },
    60_000,
  );
});
