/**
 * run-overhead: what a Runyard run costs beyond its model calls. A `mode: wait` run of an agent with
 * the echo tool (two model calls: a tool call, then the answer) against a fake OpenAI-compatible
 * server on loopback that answers at once, beside the floor: the same two model calls made directly
 * from this process with the same AI SDK model and the same fetch (engine/models/node-fetch.ts). The server runs as its own process (`runyard start`,
 * embedded SQLite, every run and event durably stored), so its CPU time and RSS come from /proc.
 * Knobs: see bench/README.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBenchProcess, startRunyardServer, type BenchProcess } from './child-process.ts';
import { createJsonClient, type JsonClient } from './http-client.ts';
import { createNodeFetch } from '../packages/server/src/engine/models/node-fetch.ts';
import { percentile, runLoad, type LoadResult } from './load.ts';
import { fixed, formatTable, formatTargets, positiveInteger, type TargetResult } from './report.ts';
import {
  completedRuns,
  floorRun,
  runyardRun,
  runyardStreamedRun,
  setUpAgent,
} from './run-overhead-workload.ts';

const adminKey = 'ry_bench_bootstrap_key_0123456789abcdef';
const repositoryRoot = path.resolve(import.meta.dirname, '..');
const throughputConcurrencies = [16, 64] as const;
const megabyte = 1024 * 1024;

/** The targets, on the 2-core reference machine. */
const targets = {
  p50OverFloorMs: 2,
  runsPerSecondAt16: 750,
  firstEventMs: 2,
  serverCpuMsPerRun: 1.5,
  rssBytes: 200 * megabyte,
  /** "Flat": the last soak round's RSS within this fraction above the first's. */
  rssGrowth: 0.1,
};

interface Phase {
  label: string;
  load: LoadResult;
  /** CPU time per completed run of the Runyard server, the fake model server and this process. */
  serverCpuMsPerRun: number;
  modelCpuMsPerRun: number;
  benchCpuMsPerRun: number;
  rssBytes?: number;
  note?: string;
}

export async function runRunOverheadBench(): Promise<TargetResult[]> {
  const latencyRuns = positiveInteger('BENCH_RUNS', 500);
  const durationMs = positiveInteger('BENCH_DURATION_MS', 5000);
  const warmupRuns = positiveInteger('BENCH_WARMUP_RUNS', 1000);
  const soakMs = positiveInteger('BENCH_SOAK_MS', 20_000);
  const soakRounds = positiveInteger('BENCH_SOAK_ROUNDS', 3);
  const profileDir = process.env.BENCH_CPU_PROFILE;

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runyard-bench-runs-'));
  const model = await startBenchProcess({
    label: 'the fake model server',
    args: ['--import', 'tsx', path.join(repositoryRoot, 'bench', 'fake-openai-server.ts')],
    env: process.env,
    readyPattern: /listening (http:\/\/\S+)/,
  });
  let server: BenchProcess | undefined;
  let engineFetch: ReturnType<typeof createNodeFetch> | undefined;
  const clients: JsonClient[] = [];
  try {
    server = await startRunyardServer(dataDir, adminKey);
    const client = (maxSockets: number) => {
      const created = createJsonClient(server!.ready, { authorization: `Bearer ${adminKey}` }, maxSockets);
      clients.push(created);
      return created;
    };
    const serial = client(1);
    const wide = client(Math.max(...throughputConcurrencies));
    await setUpAgent(serial, model.ready);

    process.stdout.write(
      `run-overhead: mode wait, one echo tool call (two streamed model calls), fake OpenAI server on loopback; ` +
        `c=1: ${latencyRuns} runs, c=16/64: ${durationMs} ms each, ${warmupRuns} warm-up runs, ` +
        `soak: ${soakRounds} × ${soakMs} ms at c=16; server: runyard start (embedded SQLite, own process)\n\n`,
    );
    const measure = measurer(server, model);
    // The engine's fetch, so the floor is the same two calls as Runyard makes them.
    engineFetch = createNodeFetch();
    const floor = floorRun(model.ready, engineFetch.fetch);
    const stateless = runyardRun(wide, { stateless: true });

    const phases: Phase[] = [];
    await warmUp(floor, warmupRuns);
    phases.push(await measure('floor c=1', floor, { concurrency: 1, operations: latencyRuns }));
    for (const concurrency of throughputConcurrencies) {
      phases.push(await measure(`floor c=${concurrency}`, floor, { concurrency, durationMs }));
    }
    // Not a target: what the engine's fetch saves over undici's (see README.md).
    const undiciFloor = floorRun(model.ready, globalThis.fetch);
    await warmUp(undiciFloor, Math.min(warmupRuns, 300));
    const undici = await measure('floor c=16, undici fetch', undiciFloor, { concurrency: 16, durationMs });
    undici.note =
      "the floor with undici's fetch instead of the engine's: not a target, a pointer (README.md)";
    phases.push(undici);

    await warmUp(stateless, warmupRuns);
    const runyardC1 = await measure('runyard c=1', runyardRun(serial, { stateless: true }), {
      concurrency: 1,
      operations: latencyRuns,
    });
    phases.push(runyardC1);
    for (const concurrency of throughputConcurrencies) {
      phases.push(await measure(`runyard c=${concurrency}`, stateless, { concurrency, durationMs }));
    }
    phases.push(
      await measure('runyard, new thread c=1', runyardRun(serial, { stateless: false }), {
        concurrency: 1,
        operations: latencyRuns,
      }),
    );
    const firstEvents: number[] = [];
    let streamedEvents = 0;
    const streamed = await measure(
      'runyard, mode stream c=1',
      async () => {
        const answer = await runyardStreamedRun(serial);
        firstEvents.push(answer.firstEventMs);
        streamedEvents = answer.events;
      },
      { concurrency: 1, operations: latencyRuns },
    );
    firstEvents.sort((left, right) => left - right);
    const firstEventP50Ms = percentile(firstEvents, 0.5);
    streamed.note =
      `${streamedEvents} events; first event p50 ${fixed(firstEventP50Ms)} ms, ` +
      `p99 ${fixed(percentile(firstEvents, 0.99))} ms`;
    phases.push(streamed);
    const soak: Phase[] = [];
    for (let round = 1; round <= soakRounds; round += 1) {
      const result = await measure(`runyard soak ${round} c=16`, stateless, {
        concurrency: 16,
        durationMs: soakMs,
      });
      result.rssBytes = server.rssBytes();
      soak.push(result);
      phases.push(result);
    }

    process.stdout.write(
      formatTable(
        [
          'phase',
          'runs',
          'runs/s',
          'p50 ms',
          'p99 ms',
          'server CPU ms/run',
          'model CPU ms/run',
          'bench CPU ms/run',
          'server RSS MB',
        ],
        phases.map((phase) => [
          phase.label,
          String(phase.load.completed),
          fixed(phase.load.operationsPerSecond, 0),
          fixed(phase.load.p50Ms),
          fixed(phase.load.p99Ms),
          phase.label.startsWith('floor') ? '-' : fixed(phase.serverCpuMsPerRun),
          fixed(phase.modelCpuMsPerRun),
          fixed(phase.benchCpuMsPerRun),
          phase.rssBytes === undefined ? '' : fixed(phase.rssBytes / megabyte, 1),
        ]),
      ),
    );
    for (const phase of phases) {
      if (phase.note !== undefined) process.stdout.write(`${phase.label}: ${phase.note}\n`);
    }

    const byLabel = (label: string) => {
      const found = phases.find((phase) => phase.label === label);
      if (found === undefined) throw new Error(`no phase ${label}`);
      return found;
    };
    const floorC1 = byLabel('floor c=1');
    process.stdout.write(
      `\nrunyard vs the floor (two direct model calls):\n` +
        `  c=1 p50: ${fixed(runyardC1.load.p50Ms)} ms vs ${fixed(floorC1.load.p50Ms)} ms ` +
        `(+${fixed(runyardC1.load.p50Ms - floorC1.load.p50Ms)} ms, ` +
        `${fixed(runyardC1.load.p50Ms / floorC1.load.p50Ms)}× the floor)\n` +
        throughputConcurrencies
          .map((concurrency) => {
            const ours = byLabel(`runyard c=${concurrency}`).load.operationsPerSecond;
            const theirs = byLabel(`floor c=${concurrency}`).load.operationsPerSecond;
            return `  c=${concurrency} runs/s: ${fixed(ours, 0)} vs ${fixed(theirs, 0)} (${fixed((ours / theirs) * 100, 1)}% of the floor)\n`;
          })
          .join(''),
    );

    const c16 = byLabel('runyard c=16');
    const rssValues = soak.map((phase) => phase.rssBytes ?? Number.NaN);
    const firstRss = rssValues[0] ?? Number.NaN;
    const lastRss = rssValues.at(-1) ?? Number.NaN;
    const maxRss = Math.max(...rssValues);
    const results: TargetResult[] = [
      {
        name: 'p50 ≤ floor + 2 ms (c=1)',
        met: runyardC1.load.p50Ms <= floorC1.load.p50Ms + targets.p50OverFloorMs,
        detail: `${fixed(runyardC1.load.p50Ms)} ms vs ≤ ${fixed(floorC1.load.p50Ms + targets.p50OverFloorMs)} ms`,
      },
      {
        name: 'c=16 ≥ 750 runs/s',
        met: c16.load.operationsPerSecond >= targets.runsPerSecondAt16,
        detail: `${fixed(c16.load.operationsPerSecond, 0)} runs/s`,
      },
      {
        name: 'SSE first event ≤ 2 ms (p50)',
        met: firstEventP50Ms <= targets.firstEventMs,
        detail: `${fixed(firstEventP50Ms)} ms`,
      },
      {
        name: 'server CPU ≤ 1.5 ms per run (c=16)',
        met: c16.serverCpuMsPerRun <= targets.serverCpuMsPerRun,
        detail: `${fixed(c16.serverCpuMsPerRun)} ms`,
      },
      {
        name: 'RSS ≤ 200 MB after 20 s of load, flat across rounds',
        met: maxRss <= targets.rssBytes && lastRss <= firstRss * (1 + targets.rssGrowth),
        detail: `${rssValues.map((value) => fixed(value / megabyte, 1)).join(' → ')} MB over ${soakRounds} rounds of ${soakMs} ms`,
      },
    ];
    process.stdout.write(`\n${formatTargets(results)}`);
    process.stdout.write(
      `load: ${os
        .loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')} (1/5/15 min), ${os.cpus().length} CPUs\n`,
    );
    return results;
  } finally {
    for (const client of clients) client.close();
    engineFetch?.close();
    await server?.stop();
    await model.stop();
    if (profileDir !== undefined && profileDir !== '') {
      process.stdout.write(
        `server CPU profile written to ${path.resolve(profileDir)}, over ${completedRuns.count} runs: ` +
          `npx tsx bench/profile-summary.ts <file> ${completedRuns.count}\n`,
      );
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function warmUp(operation: () => Promise<void>, runs: number): Promise<void> {
  await runLoad({ operations: runs, concurrency: 16, deadlineMs: 60_000, operation });
}

/** Runs one phase: a fixed number of runs, or as many as fit in `durationMs`. */
function measurer(server: BenchProcess, model: BenchProcess) {
  return async (
    label: string,
    operation: () => Promise<void>,
    shape: { concurrency: number; operations?: number; durationMs?: number },
  ): Promise<Phase> => {
    const serverBefore = server.cpuMs();
    const modelBefore = model.cpuMs();
    const benchBefore = process.cpuUsage();
    const load = await runLoad({
      operations: shape.operations ?? Number.POSITIVE_INFINITY,
      concurrency: shape.concurrency,
      deadlineMs: shape.durationMs ?? 120_000,
      operation,
    });
    const bench = process.cpuUsage(benchBefore);
    const perRun = (milliseconds: number) => milliseconds / Math.max(1, load.completed);
    return {
      label,
      load,
      serverCpuMsPerRun: perRun(server.cpuMs() - serverBefore),
      modelCpuMsPerRun: perRun(model.cpuMs() - modelBefore),
      benchCpuMsPerRun: perRun((bench.user + bench.system) / 1000),
    };
  };
}
