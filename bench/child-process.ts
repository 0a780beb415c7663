/**
 * A benchmarked process of its own (the Runyard server, the fake model server), so its CPU time and
 * memory can be read from /proc without counting the load generator's share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface BenchProcess {
  pid: number;
  /** The first capture group of `readyPattern` in the process's stdout (e.g. its URL). */
  ready: string;
  /** User + system CPU time so far, all threads, in milliseconds (Linux: /proc/<pid>/stat). */
  cpuMs(): number;
  /** Resident set size now, in bytes (Linux: /proc/<pid>/status VmRSS). */
  rssBytes(): number;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

const clockTicksPerSecond = readClockTicks();

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

export async function startBenchProcess(options: {
  label: string;
  args: string[];
  env: Record<string, string | undefined>;
  readyPattern: RegExp;
  startTimeoutMs?: number;
}): Promise<BenchProcess> {
  const child = spawn(process.execPath, options.args, {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.label} did not start in time:\n${output}`)),
      options.startTimeoutMs ?? 30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = options.readyPattern.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] ?? match[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.label} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  // Keep draining its output (warnings and errors are logged): a full pipe would stall the process.
  let tail = '';
  const keepTail = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.label} has no pid`);
  return {
    pid,
    ready,
    cpuMs: () => readCpuMs(pid),
    rssBytes: () => readRssBytes(pid),
    stop: (graceMs = 15_000) => stopChild(child, graceMs, () => tail),
  };
}

function readCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return ((userTicks + systemTicks) * 1000) / clockTicksPerSecond;
}

function readRssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

async function stopChild(child: ChildProcess, graceMs: number, tail: () => string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    process.stderr.write(`process ${child.pid} did not stop in ${graceMs} ms; killing it\n${tail()}\n`);
    child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

const repositoryRoot = path.resolve(import.meta.dirname, '..');

/**
 * `runyard start` in its own process on embedded SQLite in `dataDir`, so its CPU and RSS can be read
 * from /proc. BENCH_CPU_PROFILE=<dir> runs it with --cpu-prof; BENCH_SERVER_NODE_OPTIONS and
 * BENCH_LOG_LEVEL tune it.
 */
export function startRunyardServer(dataDir: string, adminKey: string): Promise<BenchProcess> {
  const profileDir = process.env.BENCH_CPU_PROFILE;
  return startBenchProcess({
    label: 'the Runyard server',
    args: [
      ...(profileDir === undefined || profileDir === ''
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`]),
      path.join(repositoryRoot, 'packages', 'cli', 'bin', 'runyard.js'),
      'start',
    ],
    env: {
      ...process.env,
      DATABASE_URL: undefined,
      NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS ?? process.env.NODE_OPTIONS,
      RUNYARD_PORT: '0',
      RUNYARD_HOST: '127.0.0.1',
      RUNYARD_DATA_DIR: dataDir,
      RUNYARD_BOOTSTRAP_KEY: adminKey,
      RUNYARD_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
    },
    readyPattern: /listening on (http:\/\/\S+)/,
  });
}
