/**
 * Where a CPU profile's time goes: `npx tsx bench/profile-summary.ts <file.cpuprofile> [runs]`.
 * Each sample is charged to the first area found walking up its stack (so undici's socket writes
 * count as the model client, not as node http), else to the Runyard file or module it ran in.
 * With `runs`, the busy time is also given per run. Used on the profiles that
 * `BENCH_CPU_PROFILE=<dir> npm run bench -- run-overhead` writes (see bench/README.md).
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins, walking from the sampled function towards the root of its stack. */
const areas: [string, RegExp][] = [
  ['idle', /^\(idle\)/],
  ['garbage collection', /^\(garbage collector\)/],
  ['SQLite (Kysely, better-sqlite3)', /kysely|better-sqlite3|store\/connect\.ts/],
  [
    'model client (AI SDK, undici fetch, web streams)',
    /@ai-sdk|undici|webstreams|eventsource-parser|js_transferable|call-model\.ts/,
  ],
  ['zod', /\/zod\//],
  ['logging (pino)', /pino/],
  ['Fastify', /fastify|find-my-way/],
  ['node http, sockets', /node:_http|node:net|stream_base_commons|node:internal\/streams/],
  ['crypto', /crypto/],
];

const [file, runsArgument] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [runs]\n');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
const runs = runsArgument === undefined ? undefined : Number(runsArgument);
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

const label = (node: ProfileNode) => `${node.callFrame.functionName} ${node.callFrame.url}`;
const areaOf = new Map<number, string>();
function area(id: number): string {
  const known = areaOf.get(id);
  if (known !== undefined) return known;
  let found: string | undefined;
  for (let at: number | undefined = id; at !== undefined && found === undefined; at = parents.get(at)) {
    const node = nodes.get(at);
    if (node === undefined) break;
    found = areas.find(([, pattern]) => pattern.test(label(node)))?.[0];
  }
  if (found === undefined) {
    const url = nodes.get(id)?.callFrame.url ?? '';
    found = /packages\/(.+)$/.exec(url)?.[1] ?? (url === '' ? '(native, other)' : url);
  }
  areaOf.set(id, found);
  return found;
}

const totals = new Map<string, number>();
let busyMicroseconds = 0;
profile.samples.forEach((id, index) => {
  const microseconds = profile.timeDeltas[index] ?? 0;
  const name = area(id);
  if (name !== 'idle') busyMicroseconds += microseconds;
  totals.set(name, (totals.get(name) ?? 0) + microseconds);
});
totals.delete('idle');
const perRun = (microseconds: number) =>
  runs === undefined ? '' : ` ${(microseconds / 1000 / runs).toFixed(3).padStart(7)} ms/run`;
process.stdout.write(`busy ${(busyMicroseconds / 1000).toFixed(0)} ms${perRun(busyMicroseconds)}\n`);
for (const [name, microseconds] of [...totals].sort((left, right) => right[1] - left[1]).slice(0, 25)) {
  const share = ((microseconds / busyMicroseconds) * 100).toFixed(1).padStart(5);
  process.stdout.write(`${share}%${perRun(microseconds)}  ${name}\n`);
}
