/**
 * `npm run bench`: every benchmark in turn, or the ones named (`npm run bench -- run-overhead`).
 * Each prints its table, its ratio to its floor and PASS/MISS per target; a summary of the targets
 * of all of them ends the output. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { runAgentCrudBench } from './agent-crud.ts';
import { formatTargets, type TargetResult } from './report.ts';
import { runRunOverheadBench } from './run-overhead.ts';
import { runToolCallBench } from './tool-call.ts';

const benchmarks: Record<string, () => Promise<TargetResult[]>> = {
  'agent-crud': runAgentCrudBench,
  'run-overhead': runRunOverheadBench,
  'tool-call': runToolCallBench,
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}\n`,
  );
  process.exit(2);
}
const names = requested.length === 0 ? Object.keys(benchmarks) : requested;

// The server is measured as `npm start` runs it: the bundle, which bin/runyard.js would silently
// pass over for the sources (through tsx: more CPU and memory) once any source is newer than it.
const fromSource = process.env.RUNYARD_FROM_SOURCE === '1';
if (!fromSource) {
  execFileSync(process.execPath, [path.resolve(import.meta.dirname, '../packages/cli/build.js')], {
    stdio: 'inherit',
  });
}
process.stdout.write(
  `Runyard benchmarks: ${names.join(', ')}; Node ${process.version}, ${os.cpus().length} CPUs, ` +
    `load ${os.loadavg()[0]?.toFixed(2)}; the server runs ${fromSource ? 'from source (tsx)' : 'the bundle, just built'}\n`,
);
const summary: string[] = [];
for (const name of names) {
  process.stdout.write(`\n== ${name} ==\n`);
  const results = await benchmarks[name]!();
  summary.push(results.length === 0 ? `${name}: no targets\n` : `${name}:\n${formatTargets(results)}`);
}
process.stdout.write(`\n== targets ==\n${summary.join('')}`);
