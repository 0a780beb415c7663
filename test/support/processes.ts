import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach } from 'vitest';
import { waitUntil } from './wait-until.ts';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const binary = fileURLToPath(new URL('../../packages/cli/bin/runyard.js', import.meta.url));

export type ServerCommand = 'start' | 'api' | 'worker';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunyardProcess {
  command: ServerCommand;
  child: ChildProcess;
  /** The URL the process listens on; undefined for `runyard worker`. */
  url: string | undefined;
  /** stdout and stderr as they arrived, interleaved. */
  output(): string;
  /** The JSON log lines written so far, parsed (announcements and other text are left out). */
  logs(): Record<string, unknown>[];
  exited: Promise<Exit>;
}

/** The environment of this process without any Runyard setting, so that only a test's own apply. */
export function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('RUNYARD_') && name !== 'DATABASE_URL'),
  );
}

/** The log lines with this message (pino's `msg`). */
export function logsWithMessage(runyard: RunyardProcess, message: string): Record<string, unknown>[] {
  return runyard.logs().filter((line) => line.msg === message);
}

/**
 * Real `runyard start|api|worker` child processes for the enclosing file; any still running after a
 * test are killed (SIGKILL) then. `start` resolves once the process announced itself (its URL, for
 * the API roles).
 */
export function useRunyardProcesses(startTimeoutMs = 30_000): {
  start(command: ServerCommand, environment: Record<string, string>): Promise<RunyardProcess>;
} {
  const running: ChildProcess[] = [];
  afterEach(async () => {
    const stray = running.splice(0).filter((child) => child.exitCode === null && child.signalCode === null);
    await Promise.all(
      stray.map((child) => {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        return gone;
      }),
    );
  });
  return {
    async start(command, environment) {
      const child = spawn(process.execPath, [binary, command], {
        cwd: repositoryRoot,
        env: { ...cleanEnvironment(), ...environment },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      running.push(child);
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const exited = new Promise<Exit>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const logs = () =>
        output.split('\n').flatMap((line) => {
          if (!line.startsWith('{')) return [];
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return []; // the last line, still being written
          }
        });
      const ready = command === 'worker' ? /Runyard \(worker\) started/ : /listening on (http:\/\/\S+)/;
      const match = await waitUntil(
        () => {
          if (child.exitCode !== null) throw new Error(`runyard ${command} exited with ${child.exitCode}`);
          return ready.exec(output) ?? undefined;
        },
        { what: `runyard ${command} to start`, timeoutMs: startTimeoutMs },
      ).catch((error: unknown) => {
        child.kill('SIGKILL');
        throw new Error(`${(error as Error).message}:\n${output}`);
      });
      return { command, child, url: match[1], output: () => output, logs, exited };
    },
  };
}

/** How the process exited; SIGKILL and a failure if it is still there after `timeoutMs`. */
export async function exitOf(runyard: RunyardProcess, timeoutMs = 30_000): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    runyard.exited,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome === undefined) {
    runyard.child.kill('SIGKILL');
    throw new Error(`runyard ${runyard.command} did not exit within ${timeoutMs} ms:\n${runyard.output()}`);
  }
  return outcome;
}

/** SIGTERM (once: a second one would kill it outright), then how the process exited. */
export function stopRunyard(runyard: RunyardProcess, timeoutMs = 30_000): Promise<Exit> {
  runyard.child.kill('SIGTERM');
  return exitOf(runyard, timeoutMs);
}

/** The pids of running processes whose command line contains `text` (not this test's own). */
export async function pidsOf(text: string): Promise<number[]> {
  const { stdout } = await promisify(execFile)('pgrep', ['-f', '--', text]).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number)
    .filter((pid) => pid !== process.pid);
}
