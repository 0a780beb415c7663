/**
 * tool-call: what a policy-checked, credential-injected HTTP tool call costs over the bare HTTP call.
 * A loopback API (tool-call-api-server.ts, a process of its own) answers a small JSON body at once and
 * checks a bearer token. The floor is that request made directly from this process over a keep-alive
 * node:http client; Runyard (`runyard start`, embedded SQLite, a process of its own) makes it through
 * an `http` tool whose bearer token comes from a secret, under a policy that allows the API's exact
 * loopback host, via `POST /v1/tools/{name}/invoke`, then from a run of a playground agent that calls
 * the tool once. Every answer is checked (status, the API saw the token, no token in the answer), and
 * the API's own count of authorized calls must match ours at the end. Knobs: see bench/README.md.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startBenchProcess, startRunyardServer, type BenchProcess } from './child-process.ts';
import { createJsonClient, type JsonClient } from './http-client.ts';
import { runLoad, type LoadResult } from './load.ts';
import { fixed, formatTable, positiveInteger, type TargetResult } from './report.ts';
import { checkPath, statsPath, type ApiStats } from './tool-call-api-server.ts';

const adminKey = 'ry_bench_bootstrap_key_0123456789abcdef';
const repositoryRoot = path.resolve(import.meta.dirname, '..');
const toolName = 'bench-api';
const policyName = 'bench-loopback';
const secretName = 'BENCH_API_TOKEN';
const httpAgentSlug = 'bench-tool-call-http';
const echoAgentSlug = 'bench-tool-call-echo';
const concurrencies = [1, 16] as const;

interface Phase {
  label: string;
  /** The floor phase this one is compared with (same concurrency), if any. */
  floorLabel?: string;
  load: LoadResult;
  serverCpuMsPerCall: number;
  apiCpuMsPerCall: number;
  benchCpuMsPerCall: number;
  /** Connections the API accepted during the phase (its /stats requests excluded). */
  apiConnections: number;
}

/** A difference with its sign: `+1.20`, `-0.05`. */
const signed = (value: number) => (value >= 0 ? `+${fixed(value)}` : fixed(value));

/** Calls checked so far, warm-ups included: the API must have seen exactly this many authorized. */
const checkedCalls = { count: 0 };

export async function runToolCallBench(): Promise<TargetResult[]> {
  const latencyCalls = positiveInteger('BENCH_TOOL_CALLS', 500);
  const durationMs = positiveInteger('BENCH_TOOL_DURATION_MS', 3000);
  const warmupCalls = positiveInteger('BENCH_TOOL_WARMUP_CALLS', 300);
  const profileDir = process.env.BENCH_CPU_PROFILE;
  // A fresh credential per benchmark: never printed, searched for in every answer.
  const token = `bench-${randomBytes(24).toString('hex')}`;

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runyard-bench-tools-'));
  const api = await startBenchProcess({
    label: 'the loopback API',
    args: ['--import', 'tsx', path.join(repositoryRoot, 'bench', 'tool-call-api-server.ts')],
    env: { ...process.env, BENCH_API_TOKEN: token },
    readyPattern: /listening (http:\/\/\S+)/,
  });
  let server: BenchProcess | undefined;
  const clients: JsonClient[] = [];
  try {
    server = await startRunyardServer(dataDir, adminKey);
    const client = (baseUrl: string, headers: Record<string, string>, maxSockets: number) => {
      const created = createJsonClient(baseUrl, headers, maxSockets);
      clients.push(created);
      return created;
    };
    // One client per side and concurrency, so warm-up connections are the ones measured at c=16.
    const clientsOf = (baseUrl: string, headers: Record<string, string>) =>
      new Map(concurrencies.map((concurrency) => [concurrency, client(baseUrl, headers, concurrency)]));
    const sides = {
      runyard: clientsOf(server.ready, { authorization: `Bearer ${adminKey}` }),
      direct: clientsOf(api.ready, { authorization: `Bearer ${token}` }),
    };
    await setUp(sides.runyard.get(1)!, api.ready, token);

    process.stdout.write(
      `tool-call: POST ${checkPath} to a loopback API (own process) with a bearer token; ` +
        `floor: the bare request over keep-alive node:http; runyard: an http tool (bearer from a secret, ` +
        `a policy allowing the exact loopback host) via POST /v1/tools/${toolName}/invoke, then a playground ` +
        `run calling it once; c=1: ${latencyCalls} calls, c=16: ${durationMs} ms, ${warmupCalls} warm-up calls ` +
        `of each kind first; server: runyard start (embedded SQLite, own process)\n\n`,
    );
    const measure = measurer(server, api);
    const shape = (concurrency: number) =>
      concurrency === 1 ? { concurrency, operations: latencyCalls } : { concurrency, durationMs };
    const phases: Phase[] = [];
    const kinds: {
      label: string;
      side: keyof typeof sides;
      operation: (client: JsonClient) => (index: number) => Promise<void>;
    }[] = [
      { label: 'floor', side: 'direct', operation: (wide) => bareCall(wide) },
      { label: 'invoke', side: 'runyard', operation: (wide) => invokeCall(wide, token) },
      {
        label: 'run, echo tool',
        side: 'runyard',
        operation: (wide) => runCall(wide, echoAgentSlug, 'echo', token),
      },
      {
        label: 'run, http tool',
        side: 'runyard',
        operation: (wide) => runCall(wide, httpAgentSlug, toolName, token),
      },
    ];
    const clientOf = (kind: (typeof kinds)[number], concurrency: (typeof concurrencies)[number]) =>
      sides[kind.side].get(concurrency)!;
    // Every kind warms up before any is measured: the Runyard kinds share most of their code (HTTP
    // server, SQLite, outbound pool), and the first one measured would otherwise pay for the JIT.
    for (const kind of kinds) await warmUp(kind.operation(clientOf(kind, 16)), warmupCalls);
    for (const kind of kinds) {
      for (const concurrency of concurrencies) {
        const operation = kind.operation(clientOf(kind, concurrency));
        const phase = await measure(`${kind.label} c=${concurrency}`, operation, shape(concurrency));
        if (kind.side === 'runyard') phase.floorLabel = `floor c=${concurrency}`;
        phases.push(phase);
      }
    }
    const stats = await apiStats(api.ready);
    if (stats.unauthorized !== 0 || stats.authorized !== checkedCalls.count) {
      throw new Error(
        `the API saw ${stats.authorized} authorized and ${stats.unauthorized} unauthorized calls; ` +
          `the benchmark checked ${checkedCalls.count}`,
      );
    }

    const byLabel = (label: string) => {
      const found = phases.find((phase) => phase.label === label);
      if (found === undefined) throw new Error(`no phase ${label}`);
      return found;
    };
    process.stdout.write(
      formatTable(
        [
          'phase',
          'calls',
          'calls/s',
          'p50 ms',
          'p99 ms',
          '+p50 ms',
          'p50 × floor',
          'server CPU ms/call',
          'API CPU ms/call',
          'bench CPU ms/call',
          'API conns',
        ],
        phases.map((phase) => {
          const floor = phase.floorLabel === undefined ? undefined : byLabel(phase.floorLabel);
          return [
            phase.label,
            String(phase.load.completed),
            fixed(phase.load.operationsPerSecond, 0),
            fixed(phase.load.p50Ms),
            fixed(phase.load.p99Ms),
            floor === undefined ? '-' : signed(phase.load.p50Ms - floor.load.p50Ms),
            floor === undefined ? '-' : fixed(phase.load.p50Ms / floor.load.p50Ms, 1),
            floor === undefined ? '-' : fixed(phase.serverCpuMsPerCall),
            fixed(phase.apiCpuMsPerCall),
            fixed(phase.benchCpuMsPerCall),
            String(phase.apiConnections),
          ];
        }),
      ),
    );
    const lines = concurrencies.map((concurrency) => {
      const ours = byLabel(`invoke c=${concurrency}`).load;
      const floor = byLabel(`floor c=${concurrency}`).load;
      return (
        `  c=${concurrency}: p50 ${fixed(ours.p50Ms)} ms vs ${fixed(floor.p50Ms)} ms ` +
        `(${signed(ours.p50Ms - floor.p50Ms)} ms per call, ${fixed(ours.p50Ms / floor.p50Ms, 1)}× the floor); ` +
        `${fixed(ours.operationsPerSecond, 0)} vs ${fixed(floor.operationsPerSecond, 0)} calls/s ` +
        `(${fixed((ours.operationsPerSecond / floor.operationsPerSecond) * 100, 1)}% of the floor)\n`
      );
    });
    const inRun = concurrencies.map((concurrency) => {
      const withHttp = byLabel(`run, http tool c=${concurrency}`);
      const withEcho = byLabel(`run, echo tool c=${concurrency}`);
      return (
        `  c=${concurrency}: p50 ${signed(withHttp.load.p50Ms - withEcho.load.p50Ms)} ms, ` +
        `server CPU ${signed(withHttp.serverCpuMsPerCall - withEcho.serverCpuMsPerCall)} ms per run\n`
      );
    });
    process.stdout.write(
      `\nthe http tool invoked vs the bare call (policy decision, audit row, secret read, bearer injected, ` +
        `result scrubbed):\n${lines.join('')}` +
        `the http tool in a run vs the echo tool in the same run (the http call's share of a run):\n` +
        inRun.join('') +
        `the API saw ${stats.authorized} authorized calls, one per checked call, and no other\n`,
    );
    process.stdout.write(
      `load: ${os
        .loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')} (1/5/15 min), ${os.cpus().length} CPUs\n`,
    );
    // No targets: the issue asks for the figure, not a bound on it.
    return [];
  } finally {
    for (const created of clients) created.close();
    await server?.stop();
    await api.stop();
    if (profileDir !== undefined && profileDir !== '') {
      process.stdout.write(
        `server CPU profile written to ${path.resolve(profileDir)}, over ${checkedCalls.count} calls ` +
          `(floor calls included; Runyard made fewer): npx tsx bench/profile-summary.ts <file> <calls>\n`,
      );
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The secret, the policy, the http tool and two playground agents (one calls it, one calls echo). */
async function setUp(client: JsonClient, apiUrl: string, token: string): Promise<void> {
  const expect = async (route: string, body: unknown) => {
    const answer = await client.post(route, body);
    if (answer.status !== 201) throw new Error(`POST ${route}: HTTP ${answer.status} ${answer.text}`);
  };
  await expect('/v1/secrets', { name: secretName, value: token });
  // Loopback is private space: only a rule naming this exact host and port opens it.
  await expect('/v1/policies', {
    name: policyName,
    rules: [{ effect: 'allow', resource: `${apiUrl}/**`, operations: ['POST'] }],
  });
  await expect('/v1/tools', {
    name: toolName,
    kind: 'http',
    description: 'Checks a sequence number with the benchmark API.',
    baseUrl: apiUrl,
    method: 'POST',
    path: checkPath,
    inputSchema: {
      type: 'object',
      properties: { seq: { type: 'integer' } },
      required: ['seq'],
      additionalProperties: false,
    },
    auth: { type: 'bearer', token: { secret: secretName } },
  });
  for (const [slug, tool] of [
    [httpAgentSlug, toolName],
    [echoAgentSlug, 'echo'],
  ] as const) {
    await expect('/v1/agents', {
      slug,
      name: `Tool call benchmark (${tool})`,
      model: 'playground/playground',
      instructions: 'Call the tool you are asked to call.',
      tools: [tool],
      policies: [policyName],
    });
  }
}

/** What the http tool hands the model: the API's answer, any status. */
interface HttpToolOutput {
  status?: unknown;
  body?: { authorized?: unknown; seq?: unknown } | null;
}

function checkApiAnswer(where: string, output: HttpToolOutput, seq: number): void {
  if (output.status !== 200 || output.body?.authorized !== true || output.body.seq !== seq) {
    throw new Error(`${where}: the API answered ${JSON.stringify(output)} to seq ${seq}`);
  }
  checkedCalls.count += 1;
}

function checkNoToken(where: string, text: string, token: string): void {
  if (text.includes(token)) throw new Error(`${where}: the answer holds the API token`);
}

/** The floor: the API's request made directly, with the token, over a keep-alive node:http client. */
function bareCall(client: JsonClient) {
  return async (index: number) => {
    const answer = await client.post(checkPath, { seq: index });
    const body = JSON.parse(answer.text) as HttpToolOutput['body'];
    checkApiAnswer('floor', { status: answer.status, body }, index);
  };
}

/** POST /v1/tools/{name}/invoke under the loopback policy: Runyard sends the same request. */
function invokeCall(client: JsonClient, token: string) {
  return async (index: number) => {
    const answer = await client.post(`/v1/tools/${toolName}/invoke`, {
      input: { seq: index },
      policies: [policyName],
    });
    if (answer.status !== 200) throw new Error(`invoke: HTTP ${answer.status} ${answer.text}`);
    checkNoToken('invoke', answer.text, token);
    const result = JSON.parse(answer.text) as { output?: HttpToolOutput };
    checkApiAnswer('invoke', result.output ?? {}, index);
  };
}

/**
 * One stateless wait-mode run of a playground agent asked to `use <tool> {json}`: one tool call, then
 * the model's `<tool> returned: <result>`. The echo agent's run is the same run with a local tool, so
 * the difference between the two is the http call's share.
 */
function runCall(client: JsonClient, slug: string, tool: string, token: string) {
  return async (index: number) => {
    const input = tool === 'echo' ? { text: `hi ${index}` } : { seq: index };
    const answer = await client.post(`/v1/agents/${slug}/runs`, {
      input: `use ${tool} ${JSON.stringify(input)}`,
      mode: 'wait',
      stateless: true,
    });
    if (answer.status !== 200) throw new Error(`run: HTTP ${answer.status} ${answer.text}`);
    checkNoToken('run', answer.text, token);
    const run = JSON.parse(answer.text) as { status?: unknown; output?: { text?: unknown } | null };
    const prefix = `${tool} returned: `;
    const text = run.output?.text;
    if (run.status !== 'succeeded' || typeof text !== 'string' || !text.startsWith(prefix)) {
      throw new Error(`run ended ${String(run.status)}: ${answer.text}`);
    }
    const result = text.slice(prefix.length);
    // echo returns its text as is; the http tool its {status, headers, body} as JSON.
    if (tool === 'echo') {
      if (result !== `hi ${index}`) throw new Error(`echo run answered ${text}`);
    } else {
      checkApiAnswer('run', JSON.parse(result) as HttpToolOutput, index);
    }
  };
}

/** The API's counters, over a connection of its own (`agent: false`), so each read adds exactly one. */
async function apiStats(apiUrl: string): Promise<ApiStats> {
  return new Promise((resolve, reject) => {
    http
      .get(`${apiUrl}${statsPath}`, { agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ApiStats));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Unmeasured calls at c=16 (JIT, connection pools, SQLite page cache), on indexes of their own. */
async function warmUp(operation: (index: number) => Promise<void>, calls: number): Promise<void> {
  await runLoad({ operations: calls, concurrency: 16, deadlineMs: 60_000, operation });
}

/** Runs one phase: a fixed number of calls, or as many as fit in `durationMs`. */
function measurer(server: BenchProcess, api: BenchProcess) {
  return async (
    label: string,
    operation: (index: number) => Promise<void>,
    shape: { concurrency: number; operations?: number; durationMs?: number },
  ): Promise<Phase> => {
    const connectionsBefore = (await apiStats(api.ready)).connections;
    const serverBefore = server.cpuMs();
    const apiBefore = api.cpuMs();
    const benchBefore = process.cpuUsage();
    const load = await runLoad({
      operations: shape.operations ?? Number.POSITIVE_INFINITY,
      concurrency: shape.concurrency,
      deadlineMs: shape.durationMs ?? 120_000,
      operation,
    });
    const bench = process.cpuUsage(benchBefore);
    const serverAfter = server.cpuMs();
    const apiAfter = api.cpuMs();
    // Each /stats request comes on a connection of its own: the one before this phase's calls counts.
    const connectionsAfter = (await apiStats(api.ready)).connections - 1;
    const perCall = (milliseconds: number) => milliseconds / Math.max(1, load.completed);
    return {
      label,
      load,
      serverCpuMsPerCall: perCall(serverAfter - serverBefore),
      apiCpuMsPerCall: perCall(apiAfter - apiBefore),
      apiConnections: connectionsAfter - connectionsBefore,
      benchCpuMsPerCall: perCall((bench.user + bench.system) / 1000),
    };
  };
}
