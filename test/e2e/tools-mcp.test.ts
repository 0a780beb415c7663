import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { sleep, type RunEvent } from '@runyard/protocol';
import { BadRequestError, InternalServerError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import {
  afterToolResult,
  connectProviders,
  eventsOf,
  journalOf,
  useModelMock,
} from '../support/model-path.ts';
import { pidsOf } from '../support/processes.ts';
import { useTestServer } from '../support/use-server.ts';
import { waitUntil } from '../support/wait-until.ts';

const modules = path.resolve(import.meta.dirname, '../../node_modules/@modelcontextprotocol');
/** Started from node_modules with this very node: nothing is downloaded at run time. */
const everythingEntry = path.join(modules, 'server-everything/dist/index.js');
const filesystemEntry = path.join(modules, 'server-filesystem/dist/index.js');

const envSecret = `env-secret-${randomBytes(12).toString('hex')}`;
const headerSecret = `header-secret-${randomBytes(12).toString('hex')}`;
const mock = useModelMock();

/**
 * A Streamable HTTP MCP server (the SDK's McpServer, stateless: one server per request) that
 * records the headers it received. `wave` is offered once `offerWave` is set.
 */
function useRemoteMcpServer() {
  const seen: IncomingHttpHeaders[] = [];
  const state = { offerWave: false, url: '', seen };
  let server: Server | undefined;
  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers);
      const mcp = new McpServer({ name: 'remote', version: '1.0.0' });
      mcp.registerTool(
        'greet',
        { description: 'Greets someone.', inputSchema: { name: z.string() } },
        ({ name }) => ({ content: [{ type: 'text', text: `Hello, ${name}` }] }),
      );
      if (state.offerWave) {
        mcp.registerTool('wave', { description: 'Waves.' }, () => ({
          content: [{ type: 'text', text: 'o/' }],
        }));
      }
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      response.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      void mcp.connect(transport).then(() => transport.handleRequest(request, response));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });
  return state;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const remote = useRemoteMcpServer();

describe.each(backendNames)('mcp tools on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  let directory = '';
  /** Each backend's server starts its own processes: told apart by this argument. */
  const marker = `runyard-test-${backend}-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'runyard-mcp-'));
    if (skip) return;
    const { admin } = server();
    await admin.secrets.create({ name: 'MCP_ENV', value: envSecret });
    await admin.secrets.create({ name: 'MCP_TOKEN', value: headerSecret });
    await connectProviders(server(), mock().url);
    await admin.policies.create({
      name: 'mcp-loopback',
      rules: [{ effect: 'allow', resource: `${new URL(remote.url).origin}/**`, operations: ['*'] }],
    });
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const createEverything = () =>
    server().admin.tools.create({
      name: 'everything',
      kind: 'mcp',
      description: 'The MCP reference server.',
      transport: 'stdio',
      command: process.execPath,
      // The extra argument is ignored by the server; it tells this file's processes apart.
      args: [everythingEntry, 'stdio', marker],
      env: { RUNYARD_TEST_SECRET: { secret: 'MCP_ENV' }, RUNYARD_TEST_PLAIN: 'plain' },
    });

  it.skipIf(skip)('discovers the tools of a stdio server and calls them', async () => {
    const { admin } = server();
    const created = await createEverything();
    const names = created.operations.map((operation) => operation.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'everything.echo',
        'everything.get-sum',
        'everything.get-tiny-image',
        'everything.get-structured-content',
        'everything.trigger-long-running-operation',
      ]),
    );
    expect(created).toMatchObject({ kind: 'mcp', version: 1, discoveredAt: expect.any(String) as unknown });
    expect(created.config).toMatchObject({
      transport: 'stdio',
      env: { RUNYARD_TEST_SECRET: { secret: 'MCP_ENV' } },
    });
    const echo = created.operations.find((operation) => operation.name === 'everything.echo');
    expect(echo?.inputSchema).toMatchObject({ type: 'object', properties: { message: { type: 'string' } } });
    expect(echo?.inputSchema).not.toHaveProperty('$schema');
    // The discovery is stored: a get starts nothing and shows the same operations.
    expect((await admin.tools.get('everything')).operations.map((operation) => operation.name)).toEqual(
      names,
    );

    expect((await admin.tools.invoke('everything.echo', { message: 'hi there' })).output).toBe(
      'Echo: hi there',
    );
    expect(String((await admin.tools.invoke('everything.get-sum', { a: 2, b: 40 })).output)).toContain('42');

    const structured = (
      await admin.tools.invoke('everything.get-structured-content', { location: 'Chicago' })
    ).output as { text: string; structuredContent: Record<string, unknown> };
    expect(structured.structuredContent).toMatchObject({
      temperature: expect.any(Number) as unknown,
      conditions: expect.any(String) as unknown,
    });

    const image = (await admin.tools.invoke('everything.get-tiny-image', {})).output as {
      text: string;
      media: { type: string; mimeType: string; data: string }[];
    };
    expect(image.media).toEqual([
      { type: 'image', mimeType: 'image/png', data: expect.any(String) as unknown },
    ]);
    expect(
      Buffer.from(image.media[0]?.data ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');

    // The server prints its environment: the secret env value reaches it, never the caller.
    const environment = JSON.stringify((await admin.tools.invoke('everything.get-env', {})).output);
    expect(environment).toContain('RUNYARD_TEST_PLAIN');
    expect(environment).toContain('[redacted]');
    expect(environment).not.toContain(envSecret);
    expect(server().logs.join('\n')).not.toContain(envSecret);

    // Input the tool's schema refuses is a 400, as a model's call would be told.
    await expect(admin.tools.invoke('everything.get-sum', { a: 'two' })).rejects.toBeInstanceOf(
      BadRequestError,
    );
  });

  it.skipIf(skip)('turns progress notifications into tool-progress events of the run', async () => {
    const { admin } = server();
    await admin.agents.create({
      slug: `mcp-progress-${backend}`,
      name: 'MCP progress',
      model: 'playground/playground',
      tools: ['everything.trigger-long-running-operation', 'everything.get-tiny-image'],
    });
    const result = await admin.runs.create(`mcp-progress-${backend}`, {
      input:
        'use everything.trigger-long-running-operation {"duration": 0.3, "steps": 3} use everything.get-tiny-image {}',
    });
    expect(result.status).toBe('succeeded');
    const events = await eventsOf(server(), result.id);
    const progress = events.flatMap((event) => (event.type === 'tool-progress' ? [event] : []));
    // One notification per step; the last may cross the result on the wire and be dropped by the client.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.map((event) => [event.toolName, event.progress, event.total])).toEqual(
      [1, 2, 3]
        .slice(0, progress.length)
        .map((step) => ['everything.trigger-long-running-operation', step, 3]),
    );
    const call = events.find(
      (event): event is Extract<RunEvent, { type: 'tool-call' }> =>
        event.type === 'tool-call' && event.toolName === 'everything.trigger-long-running-operation',
    );
    expect(new Set(progress.map((event) => event.toolCallId))).toEqual(new Set([call?.toolCallId]));
    const results = events.flatMap((event) => (event.type === 'tool-result' ? [event] : []));
    expect(results.map((event) => [event.toolName, event.isError]).sort()).toEqual([
      ['everything.get-tiny-image', false],
      ['everything.trigger-long-running-operation', false],
    ]);
    expect(String(results.find((event) => event.toolName.endsWith('operation'))?.output)).toContain(
      'Long running operation completed',
    );
    // The image is kept whole in the result event.
    const image = results.find((event) => event.toolName.endsWith('image'))?.output as {
      media: { data: string }[];
    };
    expect(image.media[0]?.data.length).toBeGreaterThan(50);
  });

  it.skipIf(skip)('starts the stdio server again after it dies', async () => {
    const { admin } = server();
    expect((await admin.tools.invoke('everything.echo', { message: 'before' })).output).toBe('Echo: before');
    const before = await pidsOf(marker);
    expect(before).toHaveLength(1);
    const [pid] = before as [number];
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !isAlive(pid), {
      what: `the killed MCP server ${pid} to be gone`,
      timeoutMs: 5_000,
    });
    // The client notices the exit (its pipes close) shortly after the process is gone.
    await sleep(200);
    expect((await admin.tools.invoke('everything.echo', { message: 'after' })).output).toBe('Echo: after');
    const after = await pidsOf(marker);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(pid);
  });

  it.skipIf(skip)('reads a file through the filesystem server', async () => {
    const file = path.join(directory, `notes-${backend}.txt`);
    await writeFile(file, `written by the test on ${backend}\n`);
    const created = await server().admin.tools.create({
      name: 'files',
      kind: 'mcp',
      transport: 'stdio',
      command: process.execPath,
      args: [filesystemEntry, directory],
    });
    expect(created.operations.map((operation) => operation.name)).toContain('files.read_text_file');
    const read = await server().admin.tools.invoke('files.read_text_file', { path: file });
    expect(read.output).toEqual({
      text: `written by the test on ${backend}\n`,
      structuredContent: { content: `written by the test on ${backend}\n` },
    });
    // Outside the allowed directory: the server's own error, as an error of the call.
    const outside = await server()
      .admin.tools.invoke('files.read_text_file', { path: '/etc/hostname' })
      .catch((error: unknown) => error);
    expect(outside).toBeInstanceOf(InternalServerError);
    expect(outside).toMatchObject({ code: 'TOOL_FAILED' });
  });

  it.skipIf(skip)('refuses a server that cannot start, and secrets that do not exist', async () => {
    const { admin } = server();
    const failed = await admin.tools
      .create({ name: 'broken', kind: 'mcp', transport: 'stdio', command: '/nonexistent/mcp-server' })
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ status: 502, code: 'TOOL_FAILED' });
    await expect(admin.tools.get('broken')).rejects.toMatchObject({ status: 404 });
    const missing = await admin.tools
      .create({
        name: 'broken',
        kind: 'mcp',
        transport: 'http',
        url: remote.url,
        headers: { 'X-Token': { secret: 'NO_SUCH_SECRET' } },
      })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(BadRequestError);
    expect((missing as BadRequestError).message).toContain('headers.X-Token.secret');
    await expect(
      admin.tools.create({ name: 'broken', kind: 'mcp', transport: 'http', command: 'node' } as never),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(admin.tools.refresh('echo')).rejects.toMatchObject({ status: 404 });
  });

  it.skipIf(skip)(
    'calls a Streamable HTTP server with a secret header, from a run the model drives',
    async () => {
      const { admin } = server();
      remote.offerWave = false;
      const created = await admin.tools.create({
        name: 'remote',
        kind: 'mcp',
        transport: 'http',
        url: remote.url,
        headers: { 'X-Mcp-Token': { secret: 'MCP_TOKEN' } },
      });
      expect(created.operations.map((operation) => operation.name)).toEqual(['remote.greet']);
      expect(remote.seen.at(-1)?.['x-mcp-token']).toBe(headerSecret);

      const model = `gpt-mcp-${backend}`;
      mock().on({ model, predicate: afterToolResult }, { content: 'Greeted.' });
      mock().on(
        { model },
        { toolCalls: [{ id: 'call_greet_1', name: 'remote_greet', arguments: { name: 'Ada' } }] },
      );
      await admin.agents.create({
        slug: `mcp-remote-${backend}`,
        name: 'MCP remote',
        model: `openai/${model}`,
        tools: ['remote.greet'],
        policies: ['mcp-loopback'],
      });
      const seenBefore = remote.seen.length;
      const result = await admin.runs.create(`mcp-remote-${backend}`, { input: 'Greet Ada.' });
      expect(result).toMatchObject({ status: 'succeeded', output: { text: 'Greeted.' } });
      expect(remote.seen.length).toBeGreaterThan(seenBefore);
      expect(remote.seen.slice(seenBefore).every((headers) => headers['x-mcp-token'] === headerSecret)).toBe(
        true,
      );

      const journal = journalOf(mock(), model);
      expect(journal).toHaveLength(2);
      const second = journal[1]?.body as {
        messages: { role: string; content: unknown; tool_call_id?: string }[];
      };
      expect(second.messages.at(-1)).toMatchObject({
        role: 'tool',
        tool_call_id: 'call_greet_1',
        content: 'Hello, Ada',
      });

      const events = JSON.stringify(await eventsOf(server(), result.id));
      expect(events).toContain('Hello, Ada');
      expect(events).not.toContain(headerSecret);
      expect(JSON.stringify(journal.map((entry) => entry.body))).not.toContain(headerSecret);
      expect(server().logs.join('\n')).not.toContain(headerSecret);
      expect(JSON.stringify(await admin.tools.get('remote'))).not.toContain(headerSecret);

      // Refresh: the server now offers another tool.
      remote.offerWave = true;
      await expect(
        admin.agents.create({
          slug: `mcp-wave-${backend}`,
          name: 'Wave',
          model: 'playground/playground',
          tools: ['remote.wave'],
        }),
      ).rejects.toBeInstanceOf(BadRequestError);
      const refreshed = await admin.tools.refresh('remote');
      expect(refreshed.operations.map((operation) => operation.name)).toEqual([
        'remote.greet',
        'remote.wave',
      ]);
      expect(refreshed.version).toBe(1);
      await admin.agents.create({
        slug: `mcp-wave-${backend}`,
        name: 'Wave',
        model: 'playground/playground',
        tools: ['remote.wave'],
      });
      expect((await admin.tools.invoke('remote.wave', {}, { policies: ['mcp-loopback'] })).output).toBe('o/');
    },
  );
});
