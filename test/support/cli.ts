import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { temporaryDirectory } from './backends.ts';

const binary = fileURLToPath(new URL('../../packages/cli/bin/runyard.js', import.meta.url));

export interface CliResult {
  /** null when the process was killed (e.g. by the timeout). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to the environment, which never inherits RUNYARD_* variables from the test process. */
  env?: Record<string, string>;
  /** Default: an empty directory, so no ./.runyard/admin.key is found by accident. */
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
}

/**
 * For suites whose tests each run several `runyard` processes one after another, all tests of the
 * file at once: on a loaded two-core CI machine a single process can take a few seconds.
 */
export const cliSuiteOptions = { timeout: 90_000 };

let emptyDirectory: string | undefined;

/** Runs the real `runyard` command (node packages/cli/bin/runyard.js) as a child process. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  if (emptyDirectory === undefined) {
    const directory = temporaryDirectory('runyard-cli-cwd-');
    process.once('exit', () => fs.rmSync(directory, { recursive: true, force: true }));
    emptyDirectory = directory;
  }
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('RUNYARD_')),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binary, ...args], {
      cwd: options.cwd ?? emptyDirectory,
      env: { ...inherited, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 20_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** `runyard …` against this server with this key (default: the admin key). */
export function cliFor(server: { url: string; adminKey: string }) {
  return (args: string[], options: CliOptions & { apiKey?: string } = {}) =>
    runCli([...args, '--url', server.url, '--api-key', options.apiKey ?? server.adminKey], options);
}

/** The rows of a text table under its header line, split on runs of two or more spaces. */
export function tableRows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/ {2,}/));
}

/** `label: value` lines as an object. */
export function fieldsOf(stdout: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^([a-z][a-z ]*):\s+(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) fields[match[1]] = match[2];
  }
  return fields;
}
