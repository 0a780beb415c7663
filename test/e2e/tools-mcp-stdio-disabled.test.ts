import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '@runyard/sdk';
import { backendNames, postgresAvailable } from '../support/backends.ts';
import { pidsOf } from '../support/processes.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const everythingEntry = path.resolve(
  import.meta.dirname,
  '../../node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);
const disabledMessage = 'RUNYARD_MCP_STDIO=disabled';

// A stdio MCP tool runs a program on the Runyard host. RUNYARD_MCP_STDIO=disabled takes that away
// from every key: no new definition, and no process for one defined while it was allowed.
describe.each(backendNames)('RUNYARD_MCP_STDIO=disabled on %s', (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  /** The extra argument is ignored by the MCP server; it tells this test's processes apart. */
  const marker = `runyard-stdio-off-${backend}-${randomBytes(4).toString('hex')}`;
  const stdioDefinition = {
    kind: 'mcp' as const,
    transport: 'stdio' as const,
    command: process.execPath,
    args: [everythingEntry, 'stdio', marker],
  };
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it.skipIf(skip)(
    'refuses stdio definitions and starts no stdio server, not even for a tool defined before',
    async () => {
      const allowing = await startTestServer(backend);
      server = allowing;
      await allowing.admin.tools.create({ name: 'everything', ...stdioDefinition });
      await allowing.admin.agents.create({
        slug: 'echoer',
        name: 'Echoer',
        model: 'playground/playground',
        tools: ['everything.echo'],
      });
      await allowing.stop();
      await waitUntil(async () => (await pidsOf(marker)).length === 0, {
        what: 'the stdio server to end with its Runyard',
      });

      server = await startTestServer(backend, { RUNYARD_MCP_STDIO: 'disabled' }, allowing.backend);
      const { admin } = server;

      const created = await admin.tools
        .create({ name: 'another', ...stdioDefinition })
        .catch((error: unknown) => error);
      expect(created).toBeInstanceOf(BadRequestError);
      expect(created).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect((created as BadRequestError).message).toContain(disabledMessage);
      expect(JSON.stringify((created as BadRequestError).details)).toContain('transport');
      await expect(admin.tools.get('another')).rejects.toMatchObject({ status: 404 });

      // A change would start the server: refused, and the stored definition stays as it was.
      await expect(admin.tools.update('everything', { description: 'changed' })).rejects.toMatchObject({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      const kept = await admin.tools.get('everything');
      expect(kept).toMatchObject({ version: 1, config: { transport: 'stdio' } });
      expect(kept.operations.map((operation) => operation.name)).toContain('everything.echo');

      // Calls and a refresh fail with the reason; a run's model reads it as the tool's error result.
      for (const attempt of [
        () => admin.tools.invoke('everything.echo', { message: 'hi' }),
        () => admin.tools.refresh('everything'),
      ]) {
        const failed = await attempt().catch((error: unknown) => error);
        expect(failed).toMatchObject({ status: 502, code: 'TOOL_FAILED' });
        expect((failed as Error).message).toContain(disabledMessage);
      }
      const run = await admin.runs.create('echoer', { input: 'use everything.echo {"message":"hi"}' });
      expect(run.status).toBe('succeeded');
      const result = (await admin.runs.events(run.id)).find((event) => event.type === 'tool-result');
      expect(result).toMatchObject({ isError: true });
      expect(JSON.stringify(result)).toContain(disabledMessage);
      expect(await pidsOf(marker)).toEqual([]);

      // The way out: the agent lets go of the tool, and the tool is deleted.
      await admin.agents.update('echoer', { tools: [] });
      await admin.tools.delete('everything');
      await expect(admin.tools.get('everything')).rejects.toMatchObject({ status: 404 });
    },
    60_000,
  );
});
