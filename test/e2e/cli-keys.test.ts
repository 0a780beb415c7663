import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { cliFor, cliSuiteOptions, fieldsOf, tableRows } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.concurrent.each(backendNames)('runyard keys on %s', cliSuiteOptions, (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let cli: ReturnType<typeof cliFor>;
  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend);
    cli = cliFor(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('creates a key and prints it once, with its id, prefix and scopes', async () => {
    const result = await cli(['keys', 'create', '--name', 'ci', '--scopes', 'read,run']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^Created an API key\. Copy it now: it is shown only this once\.\n\n {2}ry_/,
    );
    const key = /^ {2}(ry_\S+)$/m.exec(result.stdout)?.[1] ?? '';
    const fields = fieldsOf(result.stdout);
    expect(fields).toMatchObject({ name: 'ci', scopes: 'read, run', expires: 'never' });
    expect(fields.id).toMatch(/^key_[0-9a-z]{26}$/);
    expect(fields.workspace).toMatch(/^ws_/);
    expect(key.startsWith(fields.prefix ?? 'no prefix')).toBe(true);

    const stored = await server.admin.apiKeys.get(fields.id ?? '');
    expect(stored).toMatchObject({ name: 'ci', scopes: ['read', 'run'], prefix: fields.prefix });
    const withNewKey = await cli(['agents', 'list'], { apiKey: key });
    expect(withNewKey).toMatchObject({ exitCode: 0, stderr: '' });
  });

  it.skipIf(skip)('lists keys in a table with their status', async () => {
    const created = await server.admin.apiKeys.create({ name: 'lister', scopes: ['read', 'write'] });
    const result = await cli(['keys', 'list']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(
      /^ID +NAME +PREFIX +SCOPES +STATUS +CREATED +LAST USED +EXPIRES$/,
    );
    const row = tableRows(result.stdout).find((cells) => cells[0] === created.id);
    expect(row?.slice(0, 5)).toEqual([created.id, 'lister', created.prefix, 'read,write', 'active']);
    expect(row?.[5]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(row?.slice(6)).toEqual(['-', '-']);
    // The admin key the CLI used shows its last use; no secret is ever listed.
    expect(result.stdout).not.toContain(server.adminKey);
    expect(result.stdout).not.toContain(created.key);
  });

  it.skipIf(skip)('pages through keys with --limit and --cursor', async () => {
    const first = await cli(['keys', 'list', '--limit', '1']);
    expect(tableRows(first.stdout)).toHaveLength(1);
    const cursor = /^More keys: add --cursor (\S+)$/m.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = await cli(['keys', 'list', '--limit', '1', '--cursor', cursor ?? '']);
    expect(second.exitCode).toBe(0);
    expect(tableRows(second.stdout)).toHaveLength(1);
    expect(tableRows(second.stdout)[0]?.[0]).not.toBe(tableRows(first.stdout)[0]?.[0]);
  });

  it.skipIf(skip)('revokes a key, which then fails through the CLI with an auth error', async () => {
    const created = await cli(['keys', 'create', '--name', 'temporary', '--scopes', 'read', '--json']);
    expect(created.exitCode).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; name: string; scopes: string[] };
    expect(key).toMatchObject({ name: 'temporary', scopes: ['read'], revokedAt: null });
    expect(key.key).toMatch(/^ry_/);
    expect((await cli(['agents', 'list'], { apiKey: key.key })).exitCode).toBe(0);

    const revoked = await cli(['keys', 'revoke', key.id]);
    expect(revoked).toMatchObject({ exitCode: 0, stdout: `Revoked API key ${key.id}.\n`, stderr: '' });
    const listed = await cli(['keys', 'list']);
    expect(tableRows(listed.stdout).find((cells) => cells[0] === key.id)?.[4]).toBe('revoked');

    const refused = await cli(['agents', 'list'], { apiKey: key.key });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toBe('');
    const [first, hint] = refused.stderr.split('\n');
    expect(first).toMatch(/^runyard: UNAUTHENTICATED: .+ \(request req_\w+\)$/);
    expect(hint).toBe(
      '  hint: the API key from --api-key was not accepted (unknown, revoked or expired); pass another with --api-key or RUNYARD_API_KEY.',
    );

    const again = await cli(['keys', 'revoke', key.id, '--json']);
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ id: key.id, revoked: true });
  });

  it.skipIf(skip)('creates a key in another workspace with an expiry', async () => {
    const workspace = await server.admin.workspaces.create({ name: 'other team' });
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const result = await cli([
      'keys',
      'create',
      '--name',
      'other-ci',
      '--scopes',
      'admin',
      '--workspace',
      workspace.id,
      '--expires-at',
      expiresAt,
    ]);
    expect(result.exitCode).toBe(0);
    expect(fieldsOf(result.stdout)).toMatchObject({
      workspace: workspace.id,
      scopes: 'admin',
      expires: expiresAt.replace(/\.\d{3}Z$/, 'Z'),
    });
    // The new key sees its own workspace's keys, not ours.
    const key = /^ {2}(ry_\S+)$/m.exec(result.stdout)?.[1] ?? '';
    const listed = await cli(['keys', 'list', '--json'], { apiKey: key });
    const page = JSON.parse(listed.stdout) as { data: { name: string; workspaceId: string }[] };
    expect(page.data.map((entry) => [entry.name, entry.workspaceId])).toEqual([['other-ci', workspace.id]]);
  });

  it.skipIf(skip)('reports the API’s refusals with the code, the field and exit status 1', async () => {
    const past = await cli([
      'keys',
      'create',
      '--name',
      'old',
      '--scopes',
      'read',
      '--expires-at',
      '2001-01-01T00:00:00Z',
    ]);
    expect(past.exitCode).toBe(1);
    expect(past.stderr).toMatch(
      /^runyard: VALIDATION_FAILED: expiresAt: must be in the future \(request req_\w+\)\n {2}field expiresAt: must be in the future\n$/,
    );

    const unknown = await cli(['keys', 'revoke', `key_${'0'.repeat(26)}`]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/^runyard: NOT_FOUND: /);

    const reader = await server.admin.apiKeys.create({ name: 'reader', scopes: ['read'] });
    const denied = await cli(['keys', 'list'], { apiKey: reader.key });
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toMatch(/^runyard: PERMISSION_DENIED: /);
    expect(denied.stderr).toContain("  hint: this command needs a key with the 'admin' scope");
  });
});
