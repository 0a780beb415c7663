import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { RunEvent } from '@runyard/protocol';
import { Runyard } from '@runyard/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../support/backends.ts';
import { unusedPort } from '../support/ports.ts';
import { cleanEnvironment } from '../support/processes.ts';
import { waitUntil } from '../support/wait-until.ts';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

// `npm start` runs the compiled bundle (packages/cli/build.js) when it is current, so the bundle must
// hold everything the sources do: JSON imports, assets found through node_modules, the whole loop.
describe('the compiled bundle', () => {
  let outputDirectory: string;
  beforeAll(async () => {
    // Inside the repository: the bundle finds its packages in node_modules from where it lies.
    fs.mkdirSync(path.join(repositoryRoot, 'packages/cli/dist'), { recursive: true });
    outputDirectory = fs.mkdtempSync(path.join(repositoryRoot, 'packages/cli/dist/test-'));
    await run(process.execPath, [path.join(repositoryRoot, 'packages/cli/build.js'), outputDirectory]);
  }, 60_000);
  afterAll(() => fs.rmSync(outputDirectory, { recursive: true, force: true }));

  it('builds, starts without tsx, serves /docs and streams a run of demo', async () => {
    const dataDirectory = temporaryDirectory('runyard-bundle-data-');
    cleanups.push(() => fs.rmSync(dataDirectory, { recursive: true, force: true }));
    const bundle = path.join(outputDirectory, 'runyard.js');
    for (const file of fs.readdirSync(outputDirectory).filter((name) => name.endsWith('.js'))) {
      expect(fs.readFileSync(path.join(outputDirectory, file), 'utf8')).not.toMatch(/from ["']tsx/);
    }

    const port = await unusedPort();
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const { main } = await import(process.argv[1]); process.exitCode = await main(["start"]);',
        bundle,
      ],
      {
        cwd: repositoryRoot,
        env: { ...cleanEnvironment(), RUNYARD_DATA_DIR: dataDirectory, RUNYARD_PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    // The key is printed after the listening line: wait for both.
    const [url, apiKey] = await waitUntil(
      () => {
        const listening = /listening on (http:\/\/\S+)/.exec(output)?.[1];
        const key = /Admin API key \(shown once\): (\S+)/.exec(output)?.[1];
        return listening === undefined || key === undefined ? undefined : [listening, key];
      },
      { what: 'the bundle to listen and print its admin key', timeoutMs: 30_000 },
    );
    expect(output).not.toContain('tsx');

    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');

    const client = new Runyard({ baseUrl: url, apiKey, maxRetries: 0 });
    const events: RunEvent[] = [];
    for await (const event of client.runs.stream('demo', { input: 'use echo {"text":"from the bundle"}' })) {
      events.push(event);
    }
    const end = events.at(-1);
    if (end?.type !== 'run-end') throw new Error(`the stream ended with ${JSON.stringify(end)}`);
    expect(end.status).toBe('succeeded');
    expect(end.output?.text).toContain('from the bundle');
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  // Every `runyard keys …` or `agents …` call is a new process: loading Fastify, the database drivers
  // and the model clients there cost about half a second each.
  it('loads the server and its drivers only for the server commands', () => {
    const staticImports = (file: string) =>
      [
        ...fs
          .readFileSync(path.join(outputDirectory, file), 'utf8')
          .matchAll(/^(?:import|} from) .*?["']([^"']+)["'];$/gm),
      ].map((match) => match[1] ?? '');
    const loaded = new Set<string>();
    const pending = ['./runyard.js'];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      for (const specifier of staticImports(file)) {
        if (loaded.has(specifier)) continue;
        loaded.add(specifier);
        if (specifier.startsWith('./')) pending.push(specifier);
      }
    }
    const packages = [...loaded].filter(
      (specifier) => !specifier.startsWith('./') && !specifier.startsWith('node:'),
    );
    // The SDK's SSE framing (eventsource-parser, a few kB without dependencies) is the only addition.
    expect(packages.sort()).toEqual(['eventsource-parser', 'yaml', 'zod']);
    const serverChunk = fs.readdirSync(outputDirectory).find((name) => /^server-commands-.*\.js$/.test(name));
    expect(serverChunk).toBeDefined();
    expect(staticImports(serverChunk ?? '')).toEqual(
      expect.arrayContaining(['fastify', 'better-sqlite3', 'pg']),
    );
  });
});
