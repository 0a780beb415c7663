import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable, temporaryDirectory } from '../support/backends.ts';
import { cliSuiteOptions, runCli, tableRows } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { unusedPort } from '../support/ports.ts';

describe.concurrent.each(backendNames)('runyard connection settings on %s', cliSuiteOptions, (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let directory: string;
  /** A data directory holding an admin.key file, as `runyard start` leaves it. */
  const dataDirectoryWithKey = (name: string, key: string) => {
    const dataDir = path.join(directory, name);
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'admin.key'), `${key}\n`, { mode: 0o600 });
    return dataDir;
  };
  const expectKeysListed = (result: { exitCode: number | null; stdout: string; stderr: string }) => {
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(tableRows(result.stdout).map((cells) => cells[1])).toContain('admin (bootstrap)');
  };
  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend);
    directory = temporaryDirectory('runyard-cli-connection-');
  });
  afterAll(async () => {
    await server?.close();
    if (directory !== undefined) fs.rmSync(directory, { recursive: true, force: true });
  });

  it.skipIf(skip)('takes the key from --api-key', async () => {
    expectKeysListed(await runCli(['keys', 'list', '--url', server.url, '--api-key', server.adminKey]));
  });

  it.skipIf(skip)('takes the URL and key from RUNYARD_URL and RUNYARD_API_KEY', async () => {
    expectKeysListed(
      await runCli(['keys', 'list'], { env: { RUNYARD_URL: server.url, RUNYARD_API_KEY: server.adminKey } }),
    );
  });

  it.skipIf(skip)('reads <data dir>/admin.key from --data-dir, RUNYARD_DATA_DIR or ./.runyard', async () => {
    const dataDir = dataDirectoryWithKey('flag', server.adminKey);
    expectKeysListed(await runCli(['keys', 'list', '--url', server.url, '--data-dir', dataDir]));

    const fromEnvironment = dataDirectoryWithKey('environment', server.adminKey);
    expectKeysListed(
      await runCli(['keys', 'list', '--url', server.url], { env: { RUNYARD_DATA_DIR: fromEnvironment } }),
    );

    const project = path.join(directory, 'project');
    dataDirectoryWithKey(path.join('project', '.runyard'), server.adminKey);
    expectKeysListed(await runCli(['keys', 'list', '--url', server.url], { cwd: project }));
  });

  it.skipIf(skip)(
    'prefers --api-key to RUNYARD_API_KEY to admin.key, and says which key failed',
    async () => {
      const goodFile = dataDirectoryWithKey('good', server.adminKey);
      const badFile = dataDirectoryWithKey('bad', 'ry_wrong_key_0123456789abcdefghij');
      const wrong = 'ry_wrong_key_0123456789abcdefghij';

      const flagWins = await runCli(['keys', 'list', '--url', server.url, '--api-key', wrong], {
        env: { RUNYARD_API_KEY: server.adminKey },
      });
      expect(flagWins.exitCode).toBe(1);
      expect(flagWins.stderr).toContain('hint: the API key from --api-key was not accepted');

      const environmentWins = await runCli(['keys', 'list', '--url', server.url, '--data-dir', goodFile], {
        env: { RUNYARD_API_KEY: wrong },
      });
      expect(environmentWins.exitCode).toBe(1);
      expect(environmentWins.stderr).toMatch(/^runyard: UNAUTHENTICATED: /);
      expect(environmentWins.stderr).toContain('hint: the API key from RUNYARD_API_KEY was not accepted');

      const fromFile = await runCli(['keys', 'list', '--url', server.url, '--data-dir', badFile]);
      expect(fromFile.exitCode).toBe(1);
      expect(fromFile.stderr).toContain(
        `hint: the API key from ${path.join(badFile, 'admin.key')} was not accepted`,
      );
    },
  );

  it.skipIf(skip)('says exactly how to provide a key when there is none', async () => {
    const empty = path.join(directory, 'nothing-here');
    fs.mkdirSync(empty);
    const result = await runCli(['agents', 'list', '--url', server.url], { cwd: empty });
    expect(result.exitCode).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'runyard: no API key: pass --api-key KEY, set RUNYARD_API_KEY, or point --data-dir (or RUNYARD_DATA_DIR) ' +
        "at the server's data directory, whose admin.key the server writes on first start " +
        `(looked for ${path.join(empty, '.runyard', 'admin.key')})\n`,
    );
    const emptyFile = dataDirectoryWithKey('blank', '');
    const blank = await runCli(['agents', 'list', '--url', server.url, '--data-dir', emptyFile]);
    expect(blank.exitCode).toBe(64);
    expect(blank.stderr).toContain(`(looked for ${path.join(emptyFile, 'admin.key')})`);
  });

  it.skipIf(skip)('exits 69 with a hint when no server answers', async () => {
    const url = `http://127.0.0.1:${await unusedPort()}`;
    for (const args of [
      ['agents', 'list'],
      ['keys', 'create', '--name', 'x', '--scopes', 'read'],
    ]) {
      const result = await runCli([...args, '--url', url, '--api-key', server.adminKey]);
      expect(result.exitCode).toBe(69);
      expect(result.stdout).toBe('');
      const [first, hint] = result.stderr.split('\n');
      expect(first).toMatch(
        new RegExp(`^runyard: CONNECTION_ERROR: could not reach ${url} \\(.*ECONNREFUSED\\)$`),
      );
      expect(hint).toBe(
        '  hint: is the server running? Start it with `runyard start`, or point --url or RUNYARD_URL at it.',
      );
    }
  });
});
