import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { expectMakeError, makeClient } from './compat-make-support.ts';
import { expectRuntoolsError, runtoolsClient } from './compat-runtools-http.ts';

const perMinute = 3;

describe.each(backendNames)('the compat surfaces share the per-key rate limit of /v1 on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer | undefined;
  beforeAll(async () => {
    if (!skip) server = await startTestServer(backend, { RUNYARD_RATE_LIMIT_PER_MINUTE: String(perMinute) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('counts make, runtools and /v1 requests of one key together', async () => {
    if (server === undefined) throw new Error('the server has not started');
    // The admin key sets up; the limit is then spent by a key of its own.
    const workspace = await server.admin.workspaces.create({ name: 'limited' });
    const { key } = await server.admin.apiKeys.create({
      name: 'limited',
      scopes: ['admin'],
      workspaceId: workspace.id,
    });
    const runtools = runtoolsClient(server, key);
    const make = makeClient(server, key);
    const teamId = workspace.teamId;
    expect((await runtools('GET', '/v1/agents')).status).toBe(200);
    expect((await make('GET', '/ai-agents/v1/agents', { teamId })).status).toBe(200);
    expect((await server.client(key).agents.list()).data).toEqual([]);
    // The fourth request of the minute, on any surface, is refused in that surface's shape.
    const refused = expectRuntoolsError(await runtools('GET', '/v1/agents'), 429, 'rate_limited');
    expect(refused.message).toContain(`${perMinute} requests a minute`);
    expectMakeError(await make('GET', '/ai-agents/v1/agents', { teamId }), 429);
    await expect(server.client(key).agents.list()).rejects.toMatchObject({ status: 429 });
  });
});
