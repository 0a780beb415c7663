import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(backendNames)('smoke on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  beforeAll(async () => {
    if (!skip) server = await startTestServer(backend);
  });
  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)('creates and reads an agent through the SDK', async () => {
    const agent = await server.admin.agents.create({
      slug: 'demo',
      name: 'Demo',
      model: 'playground/playground',
    });
    expect(agent.version).toBe(1);
    const again = await server.admin.agents.get('demo');
    expect(again.id).toBe(agent.id);
    const updated = await server.admin.agents.update('demo', { instructions: 'Be brief.' });
    expect(updated.version).toBe(2);
    const renamed = await server.admin.agents.update('demo', { name: 'Renamed' });
    expect(renamed.version).toBe(2);
    const diff = await server.admin.agents.diff('demo', 1, 2);
    expect(diff.changes).toEqual([{ path: 'instructions', before: '', after: 'Be brief.' }]);
  });
});
