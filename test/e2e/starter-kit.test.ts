import { describe, expect, it } from 'vitest';
import { starterKitResultSchema, type StarterKitResult } from '@runyard/protocol';
import { NotFoundError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { startTestServer } from '../support/server.ts';
import { useTestServer } from '../support/use-server.ts';

/** POST /v1/starter-kit over raw HTTP, for the status the SDK does not show. */
async function postStarterKit(
  url: string,
  apiKey: string,
): Promise<{ status: number; body: StarterKitResult }> {
  const response = await fetch(`${url}/v1/starter-kit`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: '{}',
  });
  return { status: response.status, body: starterKitResultSchema.parse(await response.json()) };
}

describe.each(backendNames)('starter kit on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('the first start created the demo agent, in production at version 1', async () => {
    const { admin, logs } = server();
    const demo = await admin.agents.get('demo');
    expect(demo).toMatchObject({
      slug: 'demo',
      name: 'Demo',
      model: 'playground/playground',
      tools: ['echo'],
      version: 1,
      environments: { draft: 1, staging: null, production: 1 },
    });
    expect(demo.instructions.length).toBeGreaterThan(0);
    expect(await admin.agents.versions('demo')).toHaveLength(1);
    expect((await admin.providers.get('playground')).builtIn).toBe(true);
    expect(logs.some((line) => line.startsWith("Starter kit: agent 'demo'"))).toBe(true);
  });

  it.skipIf(skip)('a wait-mode run of demo calls echo and answers with its text', async () => {
    const run = await server().admin.runs.create('demo', { input: 'use echo {"text":"hi"}' });
    expect(run).toMatchObject({ status: 'succeeded', error: null, agentVersion: 1 });
    expect(run.output?.text).toContain('hi');
    const events = await server().admin.runs.events(run.id);
    expect(events.filter((event) => event.type === 'tool-result')).toEqual([
      expect.objectContaining({ toolName: 'echo', output: 'hi', isError: false }),
    ]);
  });

  it.skipIf(skip)('calling it again changes nothing and answers the same shape', async () => {
    const { admin, url, adminKey } = server();
    const before = await admin.agents.get('demo');
    const first = await admin.starterKit();
    const second = await postStarterKit(url, adminKey);
    expect(first).toEqual({ agent: before, created: false });
    expect(second).toEqual({ status: 200, body: { agent: before, created: false } });
    expect(await admin.agents.get('demo')).toEqual(before);
    expect(await admin.agents.versions('demo')).toHaveLength(1);
  });

  it.skipIf(skip)('creates the kit in a workspace without it (201), then answers 200', async () => {
    const { admin, url, client } = server();
    const workspace = await admin.workspaces.create({ name: 'starter' });
    const key = await admin.apiKeys.create({
      name: 'starter',
      scopes: ['read', 'write'],
      workspaceId: workspace.id,
    });
    await expect(client(key.key).agents.get('demo')).rejects.toBeInstanceOf(NotFoundError);

    const created = await postStarterKit(url, key.key);
    expect(created.status).toBe(201);
    expect(created.body.created).toBe(true);
    expect(created.body.agent).toMatchObject({
      slug: 'demo',
      version: 1,
      environments: { draft: 1, staging: null, production: 1 },
    });
    const again = await postStarterKit(url, key.key);
    expect(again).toEqual({ status: 200, body: { agent: created.body.agent, created: false } });

    // A deleted demo is created anew.
    await client(key.key).agents.delete('demo');
    const reborn = await client(key.key).starterKit();
    expect(reborn.created).toBe(true);
    expect(reborn.agent.id).not.toBe(created.body.agent.id);
  });

  it.skipIf(skip)('leaves an edited demo alone', async () => {
    const { admin } = server();
    const edited = await admin.agents.update('demo', { instructions: 'Mine now.', tools: [] });
    expect(edited.version).toBe(2);
    const result = await admin.starterKit();
    expect(result).toEqual({ agent: edited, created: false });
    expect(await admin.agents.get('demo')).toEqual(edited);
    expect(edited.environments).toEqual({ draft: 2, staging: null, production: 1 });
    expect(await admin.agents.versions('demo')).toHaveLength(2);
  });

  it.skipIf(skip)('a restart on an existing database does not bring a deleted demo back', async () => {
    const first = await startTestServer(backend);
    try {
      await first.admin.agents.delete('demo');
      await first.stop();
      const second = await startTestServer(backend, {}, first.backend);
      try {
        await expect(second.admin.agents.get('demo')).rejects.toBeInstanceOf(NotFoundError);
        expect(second.logs.some((line) => line.startsWith('Starter kit'))).toBe(false);
      } finally {
        await second.stop();
      }
    } finally {
      await first.close();
    }
  });
});
