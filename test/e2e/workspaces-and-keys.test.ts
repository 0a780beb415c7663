import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep, routes } from '@runyard/protocol';
import { AuthenticationError, NotFoundError, PermissionDeniedError, Runyard } from '@runyard/sdk';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer } from '../support/server.ts';
import { useTestServer } from '../support/use-server.ts';

describe.each(backendNames)('workspaces and API keys through the SDK on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('numbers workspaces with teamId and lets the instance admin list them', async () => {
    const { admin } = server();
    const list = await admin.workspaces.list();
    const initial = list.data.find((workspace) => workspace.name === 'default');
    expect(initial?.teamId).toBe(1);

    const created = await admin.transport.call(routes.createWorkspace, { body: { name: 'Team Two' } });
    expect(created.status).toBe(201);
    expect(created.data.id).toMatch(/^ws_/);
    expect(created.data.teamId).toBeGreaterThan(1);
    expect(await admin.workspaces.get(created.data.id)).toEqual(created.data);
    const names = (await admin.workspaces.list({ limit: 200 })).data.map((workspace) => workspace.name);
    expect(names).toContain('Team Two');
  });

  it.skipIf(skip)('gives concurrent workspace creations distinct team ids', async () => {
    const { admin } = server();
    const created = await Promise.all(
      Array.from({ length: 5 }, (_, index) => admin.workspaces.create({ name: `parallel ${index}` })),
    );
    const teamIds = created.map((workspace) => workspace.teamId);
    expect(new Set(teamIds).size).toBe(5);
  });

  it.skipIf(skip)('confines a workspace admin to its own workspace', async () => {
    const { admin, client } = server();
    const other = await admin.workspaces.create({ name: 'confined' });
    const key = await admin.apiKeys.create({
      name: 'confined admin',
      scopes: ['admin'],
      workspaceId: other.id,
    });
    expect(key.workspaceId).toBe(other.id);
    const confined = client(key.key);
    expect((await confined.workspaces.list()).data.map((workspace) => workspace.id)).toEqual([other.id]);
    expect(await confined.workspaces.get(other.id)).toEqual(other);
    const initial = (await admin.workspaces.list({ limit: 200 })).data.find(
      (workspace) => workspace.teamId === 1,
    );
    await expect(confined.workspaces.get(initial?.id ?? '')).rejects.toBeInstanceOf(NotFoundError);
    await expect(confined.workspaces.create({ name: 'escape' })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    // Its providers start with the built-in playground.
    expect((await confined.providers.list()).data.map((provider) => provider.name)).toEqual(['playground']);
  });

  it.skipIf(skip)('issues a key once, lists it without the secret, tracks use, and revokes it', async () => {
    const { admin, client } = server();
    const response = await admin.transport.call(routes.createApiKey, {
      body: { name: 'reader', scopes: ['read'] },
    });
    expect(response.status).toBe(201);
    const created = response.data;
    expect(created.key).toMatch(/^ry_/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    expect(created.lastUsedAt).toBeNull();

    const listed = (await admin.apiKeys.list({ limit: 200 })).data.find((key) => key.id === created.id);
    expect(listed).toMatchObject({ name: 'reader', scopes: ['read'], prefix: created.prefix });
    expect(listed).not.toHaveProperty('key');
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const reader = client(created.key);
    await reader.agents.list();
    expect((await admin.apiKeys.get(created.id)).lastUsedAt).not.toBeNull();

    await admin.apiKeys.revoke(created.id);
    await admin.apiKeys.revoke(created.id);
    expect((await admin.apiKeys.get(created.id)).revokedAt).not.toBeNull();
    await expect(reader.agents.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it.skipIf(skip)('enforces scopes: admin implies the rest, others only their own', async () => {
    const { admin, client } = server();
    const key = async (scopes: ('read' | 'write' | 'run' | 'admin')[]) =>
      client((await admin.apiKeys.create({ name: scopes.join('+'), scopes })).key);
    const reader = await key(['read']);
    const writer = await key(['write']);
    const runner = await key(['run']);

    expect((await reader.providers.list()).data.length).toBeGreaterThan(0);
    const denied = await reader.secrets.create({ name: 'NOPE', value: 'x' }).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as PermissionDeniedError).details.requiredScope).toBe('write');

    await writer.secrets.create({ name: 'WRITER_SECRET', value: 'x' });
    await expect(writer.secrets.list()).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(runner.agents.list()).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(writer.apiKeys.list()).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(reader.apiKeys.create({ name: 'x', scopes: ['admin'] })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
  });

  it.skipIf(skip)('accepts the key as a Bearer token and as x-api-key, and expires keys', async () => {
    const { admin, url } = server();
    const created = await admin.apiKeys.create({ name: 'header', scopes: ['read'] });
    const viaBearer = await fetch(`${url}/v1/agents`, {
      headers: { authorization: `Bearer ${created.key}` },
    });
    const viaHeader = await fetch(`${url}/v1/agents`, { headers: { 'x-api-key': created.key } });
    const without = await fetch(`${url}/v1/agents`);
    expect([viaBearer.status, viaHeader.status, without.status]).toEqual([200, 200, 401]);
    expect(((await without.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');

    const soon = new Date(Date.now() + 1500).toISOString();
    const expiring = await admin.apiKeys.create({ name: 'expiring', scopes: ['read'], expiresAt: soon });
    const expiringClient = new Runyard({ baseUrl: url, apiKey: expiring.key, maxRetries: 0 });
    await expiringClient.agents.list();
    await sleep(1600);
    await expect(expiringClient.agents.list()).rejects.toMatchObject({
      status: 401,
      message: expect.stringContaining('expired') as unknown,
    });
    await expect(
      admin.apiKeys.create({ name: 'past', scopes: ['read'], expiresAt: '2001-01-01T00:00:00Z' }),
    ).rejects.toMatchObject({
      status: 400,
      details: { issues: [expect.objectContaining({ path: 'expiresAt' })] },
    });
  });
});

describe('first start without RUNYARD_BOOTSTRAP_KEY', () => {
  it('creates the admin key, writes it to <data dir>/admin.key (0600) and announces where it is', async () => {
    const server = await startTestServer('sqlite', { RUNYARD_BOOTSTRAP_KEY: '' });
    try {
      const file = path.join(server.backend.dataDir, 'admin.key');
      const key = fs.readFileSync(file, 'utf8').trim();
      expect(key).toMatch(/^ry_/);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(server.logs.join('\n')).toContain(file);
      const client = server.client(key);
      expect((await client.apiKeys.list()).data.map((apiKey) => apiKey.scopes)).toEqual([['admin']]);
    } finally {
      await server.close();
    }
  });

  it.skipIf(!postgresAvailable)('bootstraps a PostgreSQL database with the given key', async () => {
    const server = await startTestServer('postgres');
    try {
      const workspaces = await server.admin.workspaces.list();
      expect(workspaces.data.map((workspace) => workspace.teamId)).toEqual([1]);
    } finally {
      await server.close();
    }
  });
});
