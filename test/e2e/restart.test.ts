import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, type Agent, type AgentVersion, type Provider, type Secret } from '@runyard/protocol';
import { Runyard } from '@runyard/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable, temporaryDirectory } from '../support/backends.ts';
import { isolatedPostgres } from '../support/postgres.ts';
import { unusedPort } from '../support/ports.ts';
import { waitUntil } from '../support/wait-until.ts';

const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));
const binary = path.join(repositoryRoot, 'packages/cli/bin/runyard.js');
const startTimeoutMs = 30_000;
const stopTimeoutMs = 5_000;

interface RunyardProcess {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of this process without any Runyard setting, so only the test's own apply. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('RUNYARD_') && name !== 'DATABASE_URL'),
  );
}

const running: ChildProcess[] = [];

/** `runyard start` as a real process; resolves once it announces its URL (and, when asked, more output). */
async function startRunyard(environment: Record<string, string>, waitFor?: RegExp): Promise<RunyardProcess> {
  const child = spawn(process.execPath, [binary, 'start'], {
    cwd: repositoryRoot,
    env: { ...cleanEnvironment(), ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`runyard start exited with ${child.exitCode}`);
      const listening = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      return waitFor === undefined || waitFor.test(stdout) ? listening : undefined;
    },
    { what: 'runyard start to announce itself', timeoutMs: startTimeoutMs },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}:\n${stdout}\n${stderr}`);
  });
  return { child, url, stdout: () => stdout, stderr: () => stderr, exited };
}

/** SIGTERM, then the exit code and how long the process took to go. */
async function stopRunyard(runyard: RunyardProcess): Promise<{ code: number | null; milliseconds: number }> {
  const started = performance.now();
  runyard.child.kill('SIGTERM');
  let expire: (value: undefined) => void = () => undefined;
  const timer = setTimeout(() => expire(undefined), stopTimeoutMs * 2);
  const outcome = await Promise.race([
    runyard.exited,
    new Promise<undefined>((resolve) => (expire = resolve)),
  ]);
  clearTimeout(timer);
  if (outcome === undefined) {
    runyard.child.kill('SIGKILL');
    throw new Error(`runyard did not exit within ${stopTimeoutMs * 2} ms of SIGTERM:\n${runyard.stdout()}`);
  }
  expect(outcome.signal).toBeNull();
  return { code: outcome.code, milliseconds: performance.now() - started };
}

/** A model provider that accepts exactly one key, to prove a secret still decrypts after a restart. */
async function startUpstream(acceptedKey: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    const accepted = request.headers.authorization === `Bearer ${acceptedKey}`;
    response.writeHead(accepted ? 200 : 401, { 'content-type': 'application/json' });
    response.end(JSON.stringify(accepted ? { data: [{ id: 'upstream-model' }] } : { error: 'bad key' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Snapshot {
  agents: Agent[];
  versions: AgentVersion[];
  secret: Secret;
  provider: Provider;
  keyIds: string[];
}

async function snapshot(client: Runyard): Promise<Snapshot> {
  return {
    agents: (await client.agents.list()).data,
    versions: await client.agents.versions('support'),
    secret: await client.secrets.get('OPENAI_API_KEY'),
    provider: await client.providers.get('local-openai'),
    keyIds: (await client.apiKeys.list()).data.map((key) => key.id),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(backendNames)('restarting real runyard processes on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;

  it.skipIf(skip)(
    'keeps every resource, key and secret across a SIGTERM and a new start',
    async () => {
      const firstDataDirectory = temporaryDirectory('runyard-restart-');
      cleanups.push(() => fs.rmSync(firstDataDirectory, { recursive: true, force: true }));
      const environment: Record<string, string> = {
        RUNYARD_PORT: String(await unusedPort()),
        RUNYARD_LOG_LEVEL: 'info',
        RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
      };
      if (backend === 'postgres') {
        const postgres = await isolatedPostgres();
        if (postgres === undefined) throw new Error('PostgreSQL is not reachable');
        cleanups.push(postgres.drop);
        environment.DATABASE_URL = postgres.databaseUrl;
        environment.RUNYARD_MASTER_KEY = randomBytes(32).toString('hex');
      }
      const providerKey = `sk-restart-${randomBytes(8).toString('hex')}`;
      const upstream = await startUpstream(providerKey);
      cleanups.push(upstream.close);

      // First start: a fresh database, so an admin key, printed once and saved 0600.
      const first = await startRunyard(
        { ...environment, RUNYARD_DATA_DIR: firstDataDirectory },
        /It is saved in .+ \(readable by you only\)/,
      );
      const adminKey = /Admin API key \(shown once\): (\S+)/.exec(first.stdout())?.[1];
      expect(adminKey, first.stdout()).toMatch(/^ry_[A-Za-z0-9]{40}$/);
      const keyFile = path.join(firstDataDirectory, 'admin.key');
      expect(first.stdout()).toContain(`It is saved in ${keyFile} (readable by you only).`);
      expect(fs.readFileSync(keyFile, 'utf8').trim()).toBe(adminKey);
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      if (backend === 'sqlite') {
        expect(fs.statSync(path.join(firstDataDirectory, 'master.key')).mode & 0o777).toBe(0o600);
      } else {
        expect(fs.existsSync(path.join(firstDataDirectory, 'master.key')), 'RUNYARD_MASTER_KEY is used').toBe(
          false,
        );
      }

      const admin = new Runyard({ baseUrl: first.url, apiKey: adminKey!, maxRetries: 0 });
      await admin.secrets.create({ name: 'OPENAI_API_KEY', value: 'sk-first-value' });
      await admin.secrets.rotate('OPENAI_API_KEY', providerKey);
      await admin.providers.create({
        name: 'local-openai',
        kind: 'openai-compatible',
        baseUrl: upstream.url,
        apiKey: { secret: 'OPENAI_API_KEY' },
        models: ['upstream-model'],
        requestsPerMinute: 60,
      });
      await admin.agents.create({
        slug: 'support',
        name: 'Support',
        model: 'local-openai/upstream-model',
        instructions: 'Be kind.',
        tags: ['customer'],
        env: { OPENAI_KEY: { secret: 'OPENAI_API_KEY' } },
      });
      await admin.agents.update('support', { instructions: 'Be kind and brief.' });
      await admin.agents.update('support', { settings: { temperature: 0.2 } });
      await admin.agents.promote('support', { version: 2, environment: 'production' });
      await admin.agents.promote('support', { version: 3, environment: 'staging' });
      await admin.agents.create({ slug: 'triage', name: 'Triage', model: 'playground/playground' });
      const issued = await admin.apiKeys.create({ name: 'app', scopes: ['read', 'run'] });
      const app = new Runyard({ baseUrl: first.url, apiKey: issued.key, maxRetries: 0 });
      // support, triage and the starter kit's demo (created by the first start).
      expect((await app.agents.list()).data).toHaveLength(3);
      expect((await admin.providers.test('local-openai')).ok).toBe(true);
      const before = await snapshot(admin);
      expect(before.agents.find((agent) => agent.slug === 'support')?.environments).toEqual({
        draft: 3,
        staging: 3,
        production: 2,
      });

      // SIGTERM with the client's keep-alive connections still open: a prompt, clean exit.
      const firstStop = await stopRunyard(first);
      expect(firstStop.code, first.stderr()).toBe(0);
      expect(firstStop.milliseconds).toBeLessThan(stopTimeoutMs);
      expect(first.stdout()).toContain('shutting down');

      // Second start. On PostgreSQL from an empty data directory: everything must live in the database.
      const secondDataDirectory =
        backend === 'postgres' ? temporaryDirectory('runyard-restart-') : firstDataDirectory;
      cleanups.push(() => fs.rmSync(secondDataDirectory, { recursive: true, force: true }));
      const second = await startRunyard({ ...environment, RUNYARD_DATA_DIR: secondDataDirectory });
      expect(second.url).toBe(first.url);
      await sleep(100);
      expect(second.stdout(), 'no new admin key on a second start').not.toMatch(/Admin API key/);
      expect(fs.readFileSync(keyFile, 'utf8').trim()).toBe(adminKey);
      if (backend === 'postgres') expect(fs.readdirSync(secondDataDirectory)).toEqual([]);

      const adminAgain = new Runyard({ baseUrl: second.url, apiKey: adminKey!, maxRetries: 0 });
      const appAgain = new Runyard({ baseUrl: second.url, apiKey: issued.key, maxRetries: 0 });
      const after = await snapshot(adminAgain);
      expect(after.agents).toEqual(before.agents);
      expect(after.versions).toEqual(before.versions);
      expect(after.versions.map((version) => version.version)).toEqual([3, 2, 1]);
      expect(after.secret).toEqual(before.secret);
      expect(after.secret.version).toBe(2);
      expect(after.provider).toEqual(before.provider);
      expect(after.keyIds).toEqual(before.keyIds);
      expect((await adminAgain.agents.diff('support', 1, 2)).changes).toEqual([
        { path: 'instructions', before: 'Be kind.', after: 'Be kind and brief.' },
      ]);
      expect((await appAgain.agents.get('support')).version).toBe(3);
      expect((await appAgain.agents.list({ tag: 'customer' })).data.map((agent) => agent.slug)).toEqual([
        'support',
      ]);
      // The secret still decrypts under the same master key and reaches the provider.
      expect(await adminAgain.providers.test('local-openai')).toMatchObject({
        ok: true,
        models: ['upstream-model'],
      });

      const secondStop = await stopRunyard(second);
      expect(secondStop.code, second.stderr()).toBe(0);
      expect(secondStop.milliseconds).toBeLessThan(stopTimeoutMs);
    },
    90_000,
  );
});

describe('the embedded database belongs to one process', () => {
  it('a second runyard start on the same data folder exits with a clear message, the first keeps serving', async () => {
    const dataDirectory = temporaryDirectory('runyard-exclusive-');
    cleanups.push(() => fs.rmSync(dataDirectory, { recursive: true, force: true }));
    const environment = { RUNYARD_DATA_DIR: dataDirectory, RUNYARD_RATE_LIMIT_PER_MINUTE: '0' };
    const first = await startRunyard({ ...environment, RUNYARD_PORT: String(await unusedPort()) });

    const second = spawn(process.execPath, [binary, 'start'], {
      cwd: repositoryRoot,
      env: { ...cleanEnvironment(), ...environment, RUNYARD_PORT: String(await unusedPort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(second);
    let stderr = '';
    second.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`the embedded database ${path.join(dataDirectory, 'runyard.db')}`);
    expect(stderr).toContain('is in use by another Runyard process');

    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
    const stopped = await stopRunyard(first);
    expect(stopped.code, first.stderr()).toBe(0);
  }, 60_000);
});
