import { describe, expect, it } from 'vitest';
import { routes } from '@runyard/protocol';
import { BadRequestError, ConflictError, NotFoundError, PermissionDeniedError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';

/** An OpenAPI document with two operations; its server is never called in this file. */
const billingDocument = {
  openapi: '3.0.3',
  info: { title: 'Billing', version: '1' },
  servers: [{ url: 'http://127.0.0.1:9/api' }],
  paths: {
    '/invoices': {
      post: {
        operationId: 'createInvoice',
        summary: 'Create an invoice',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/NewInvoice' } } },
        },
      },
    },
    '/invoices/{id}': {
      get: {
        operationId: 'getInvoice',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      },
    },
  },
  components: {
    schemas: {
      NewInvoice: {
        type: 'object',
        properties: { customer: { type: 'string' }, amountCents: { type: 'integer' } },
        required: ['customer'],
      },
    },
  },
};

const issuesOf = (error: unknown) =>
  ((error as BadRequestError).details.issues as { path: string; message: string }[]).map(
    (issue) => issue.path,
  );

describe.each(backendNames)('the tool registry on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('lists the built-in tools, read-only, before any of the registry', async () => {
    const { admin } = server();
    const page = await admin.tools.list();
    expect(page.data.map((tool) => [tool.name, tool.kind, tool.builtIn, tool.id, tool.version])).toEqual([
      ['echo', 'builtin', true, null, null],
      ['current_time', 'builtin', true, null, null],
      ['memory', 'builtin', true, null, null],
      ['http_fetch', 'builtin', true, null, null],
    ]);
    expect(page.nextCursor).toBeNull();
    const echo = await admin.tools.get('echo');
    expect(echo.operations).toEqual([
      {
        name: 'echo',
        description: 'Returns the given text unchanged.',
        inputSchema: expect.any(Object) as unknown,
      },
    ]);
    expect(await admin.tools.versions('echo')).toEqual([]);
    await expect(admin.tools.update('echo', { description: 'mine' })).rejects.toBeInstanceOf(ConflictError);
    await expect(admin.tools.delete('current_time')).rejects.toBeInstanceOf(ConflictError);
    await expect(
      admin.tools.create({ name: 'echo', kind: 'http', baseUrl: 'http://127.0.0.1:9' }),
    ).rejects.toMatchObject({ status: 409, code: 'CONFLICT' });
  });

  it.skipIf(skip)(
    'creates an http tool with its defaults, versions its changes, and deletes it',
    async () => {
      const { admin } = server();
      const created = await admin.tools.create({
        name: 'shout',
        kind: 'http',
        description: 'Shouts the text back.',
        baseUrl: 'http://127.0.0.1:9/api/',
        method: 'POST',
        path: '/shout/{lang}',
        inputSchema: {
          type: 'object',
          properties: {
            lang: { type: 'string' },
            text: { type: 'string' },
            trace: { type: 'string', 'x-runyard-in': 'header' },
          },
          required: ['lang', 'text'],
        },
      });
      expect(created).toMatchObject({
        name: 'shout',
        kind: 'http',
        builtIn: false,
        version: 1,
        description: 'Shouts the text back.',
        config: {
          kind: 'http',
          baseUrl: 'http://127.0.0.1:9/api/',
          method: 'POST',
          path: '/shout/{lang}',
          openapi: null,
          auth: { type: 'none' },
          timeoutMs: 30_000,
          maxResponseBytes: 100_000,
          maxRetries: 2,
        },
      });
      expect(created.id).toMatch(/^tool_[0-9a-hjkmnp-tv-z]{26}$/);
      // The model sees the schema without Runyard's placement keywords.
      expect(created.operations).toEqual([
        {
          name: 'shout',
          description: 'Shouts the text back.',
          method: 'POST',
          path: '/shout/{lang}',
          inputSchema: {
            type: 'object',
            properties: { lang: { type: 'string' }, text: { type: 'string' }, trace: { type: 'string' } },
            required: ['lang', 'text'],
          },
        },
      ]);
      expect(await admin.tools.get('shout')).toEqual(created);

      const second = await admin.tools.update('shout', { timeoutMs: 5000, maxRetries: null });
      expect(second.version).toBe(2);
      expect(second.config).toMatchObject({ timeoutMs: 5000, maxRetries: 2 });
      // The same definition again is no change: no version.
      expect((await admin.tools.update('shout', { timeoutMs: 5000 })).version).toBe(2);
      const versions = await admin.tools.versions('shout');
      expect(versions.map((version) => version.version)).toEqual([2, 1]);
      expect(versions[0]?.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(versions[0]?.contentHash).not.toBe(versions[1]?.contentHash);
      expect(versions[1]?.config).toMatchObject({ timeoutMs: 30_000 });
      expect(versions.every((version) => version.toolId === created.id)).toBe(true);

      const listed = await admin.tools.list();
      expect(listed.data.map((tool) => tool.name)).toEqual([
        'echo',
        'current_time',
        'memory',
        'http_fetch',
        'shout',
      ]);

      await admin.tools.delete('shout');
      await expect(admin.tools.get('shout')).rejects.toBeInstanceOf(NotFoundError);
      await expect(admin.tools.delete('shout')).rejects.toBeInstanceOf(NotFoundError);
      // A deleted tool frees its name: a new tool, with versions from 1.
      const again = await admin.tools.create({ name: 'shout', kind: 'http', baseUrl: 'http://127.0.0.1:9' });
      expect(again.id).not.toBe(created.id);
      expect(again.version).toBe(1);
      expect(again.operations[0]?.inputSchema).toEqual({ type: 'object', properties: {} });
      await expect(
        admin.tools.create({ name: 'shout', kind: 'http', baseUrl: 'http://127.0.0.1:9' }),
      ).rejects.toMatchObject({ status: 409, details: { name: 'shout' } });
      await admin.tools.delete('shout');
    },
  );

  it.skipIf(skip)('pages through built-in and registry tools with any limit', async () => {
    const { admin } = server();
    for (const name of ['page-a', 'page-b', 'page-c']) {
      await admin.tools.create({ name, kind: 'http', baseUrl: 'http://127.0.0.1:9' });
    }
    for (const limit of [1, 2, 3, 4, 50]) {
      const names: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await admin.tools.list({ limit, ...(cursor !== undefined && { cursor }) });
        expect(page.data.length).toBeLessThanOrEqual(limit);
        names.push(...page.data.map((tool) => tool.name));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(names, `limit ${limit}`).toEqual([
        'echo',
        'current_time',
        'memory',
        'http_fetch',
        'page-c',
        'page-b',
        'page-a',
      ]);
    }
    for (const name of ['page-a', 'page-b', 'page-c']) await admin.tools.delete(name);
  });

  it.skipIf(skip)('turns an OpenAPI document into one callable tool per operation', async () => {
    const { admin } = server();
    const billing = await admin.tools.create({ name: 'billing', kind: 'http', openapi: billingDocument });
    expect(billing.config).toMatchObject({ baseUrl: null, method: null, path: null, inputSchema: null });
    expect(billing.operations).toEqual([
      {
        name: 'billing.createInvoice',
        description: 'Create an invoice',
        method: 'POST',
        path: '/invoices',
        inputSchema: {
          type: 'object',
          properties: { customer: { type: 'string' }, amountCents: { type: 'integer' } },
          required: ['customer'],
          additionalProperties: false,
        },
      },
      {
        name: 'billing.getInvoice',
        description: 'GET /invoices/{id}',
        method: 'GET',
        path: '/invoices/{id}',
        inputSchema: {
          type: 'object',
          properties: { id: { type: 'string' } },
          required: ['id'],
          additionalProperties: false,
        },
      },
    ]);

    // Agents name operations; the tool itself, or an operation it lacks, is unknown.
    const agent = await admin.agents.create({
      slug: 'biller',
      name: 'Biller',
      model: 'playground/playground',
      tools: ['echo', 'billing.createInvoice'],
    });
    expect(agent.tools).toEqual(['echo', 'billing.createInvoice']);
    const error = await admin.agents
      .update('biller', { tools: ['billing', 'echo', 'billing.refund', 'nowhere'] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toContain("'billing', 'billing.refund', 'nowhere'");
    expect(issuesOf(error)).toEqual(['tools.0', 'tools.2', 'tools.3']);
    const messages = ((error as BadRequestError).details.issues as { message: string }[]).map(
      (issue) => issue.message,
    );
    expect(messages[0]).toContain('billing.createInvoice');

    // A new document must keep what agents use; the tool cannot go while they use it.
    const withoutCreate = structuredClone(billingDocument) as Record<string, unknown>;
    delete (withoutCreate.paths as Record<string, unknown>)['/invoices'];
    await expect(admin.tools.update('billing', { openapi: withoutCreate })).rejects.toMatchObject({
      status: 409,
      details: { agents: ['biller'], tools: ['billing.createInvoice'] },
    });
    await expect(admin.tools.delete('billing')).rejects.toMatchObject({
      status: 409,
      details: { agents: ['biller'] },
    });
    // A change that keeps the operation is a new version.
    const renamed = structuredClone(billingDocument);
    renamed.paths['/invoices'].post.summary = 'Create an invoice for a customer';
    expect((await admin.tools.update('billing', { openapi: renamed })).version).toBe(2);

    await admin.agents.delete('biller');
    await admin.tools.delete('billing');
  });

  it.skipIf(skip)('rejects definitions that cannot work, naming the field', async () => {
    const { admin } = server();
    const cases: [string, Record<string, unknown>, string][] = [
      ['no baseUrl', {}, 'baseUrl'],
      [
        'a path parameter the schema lacks',
        { baseUrl: 'http://h.test', path: '/u/{id}', inputSchema: { type: 'object' } },
        'inputSchema.properties',
      ],
      [
        'a non-object input',
        { baseUrl: 'http://h.test', inputSchema: { type: 'string' } },
        'inputSchema.type',
      ],
      [
        'an invalid JSON Schema',
        { baseUrl: 'http://h.test', inputSchema: { type: 'object', properties: { a: { type: 'nope' } } } },
        'inputSchema',
      ],
      [
        'an unknown placement',
        {
          baseUrl: 'http://h.test',
          inputSchema: { type: 'object', properties: { a: { 'x-runyard-in': 'cookie' } } },
        },
        'inputSchema.properties.a.x-runyard-in',
      ],
      ['credentials in the URL', { baseUrl: 'http://user:pass@h.test' }, 'baseUrl'],
      ['a non-http URL', { baseUrl: 'ftp://h.test' }, 'baseUrl'],
      ['method with openapi', { openapi: billingDocument, method: 'GET' }, 'method'],
      ['not OpenAPI 3', { openapi: { swagger: '2.0', paths: {} } }, 'openapi.openapi'],
      [
        'an operation without operationId',
        { openapi: { openapi: '3.1.0', servers: [{ url: 'http://h.test' }], paths: { '/x': { get: {} } } } },
        'openapi.paths./x.get.operationId',
      ],
      [
        'an external $ref',
        {
          openapi: {
            openapi: '3.1.0',
            servers: [{ url: 'http://h.test' }],
            paths: { '/x': { $ref: 'https://elsewhere.test/x.yaml' } },
          },
        },
        'openapi.paths./x',
      ],
      ['no server URL', { openapi: { ...billingDocument, servers: [] } }, 'baseUrl'],
      [
        'an unknown secret',
        { baseUrl: 'http://h.test', auth: { type: 'bearer', token: { secret: 'NOPE' } } },
        'auth.token.secret',
      ],
      ['an unknown auth type', { baseUrl: 'http://h.test', auth: { type: 'digest' } }, 'auth.type'],
      ['an unknown field', { baseUrl: 'http://h.test', zzExtra: 1 }, 'zzExtra'],
    ];
    for (const [label, fields, field] of cases) {
      const error = await admin.tools
        .create({ name: 'broken', kind: 'http', ...fields } as never)
        .catch((caught: unknown) => caught);
      expect(error, label).toBeInstanceOf(BadRequestError);
      expect(issuesOf(error), label).toContain(field);
    }
    for (const name of ['has.dot', 'has space', '', 'x'.repeat(65)]) {
      const error = await admin.tools
        .create({ name, kind: 'http', baseUrl: 'http://h.test' })
        .catch((caught: unknown) => caught);
      expect(issuesOf(error), name).toEqual(['name']);
    }
    await expect(admin.tools.get('broken')).rejects.toBeInstanceOf(NotFoundError);
  });

  it.skipIf(skip)('keeps the secrets a tool references, and agents from naming unknown tools', async () => {
    const { admin } = server();
    await admin.secrets.create({ name: 'SHOUT_TOKEN', value: 'token-value' });
    await admin.tools.create({
      name: 'guarded',
      kind: 'http',
      baseUrl: 'http://127.0.0.1:9',
      auth: { type: 'bearer', token: { secret: 'SHOUT_TOKEN' } },
    });
    await expect(admin.secrets.delete('SHOUT_TOKEN')).rejects.toMatchObject({
      status: 409,
      details: { tools: ['guarded'] },
    });
    const error = await admin.agents
      .create({
        slug: 'confused',
        name: 'Confused',
        model: 'playground/playground',
        tools: ['guarded', 'gone'],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toContain("'gone'");
    expect(issuesOf(error)).toEqual(['tools.1']);
    await expect(admin.agents.get('confused')).rejects.toBeInstanceOf(NotFoundError);
    const upsert = await admin.agents
      .upsert('confused', { name: 'Confused', model: 'playground/playground', tools: ['gone'] })
      .catch((caught: unknown) => caught);
    expect(issuesOf(upsert)).toEqual(['tools.0']);

    await admin.tools.update('guarded', { auth: { type: 'none' } });
    await admin.secrets.delete('SHOUT_TOKEN');
    await admin.tools.delete('guarded');
  });

  it.skipIf(skip)('invokes a built-in tool directly, checking the input like a model call', async () => {
    const { admin } = server();
    expect(await admin.tools.invoke('echo', { text: 'hello' })).toMatchObject({
      tool: 'echo',
      output: 'hello',
      durationMs: expect.any(Number) as unknown,
    });
    const bad = await admin.tools.invoke('echo', { text: 5, extra: true }).catch((caught: unknown) => caught);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as BadRequestError).details.location).toBe('body');
    expect(issuesOf(bad).sort()).toEqual(['input', 'input.text']);
    await expect(admin.tools.invoke('nothing.here', {})).rejects.toBeInstanceOf(NotFoundError);
    const failed = await admin.tools
      .invoke('current_time', { timeZone: 'Nowhere/Atlantis' })
      .catch((caught: unknown) => caught);
    expect(failed).toMatchObject({
      status: 502,
      code: 'TOOL_FAILED',
      details: { tool: 'current_time', reason: 'error' },
    });

    // Invoking needs the run scope; reading does not.
    const reader = server().client(
      (await admin.apiKeys.create({ name: 'tool-reader', scopes: ['read'] })).key,
    );
    expect((await reader.tools.list()).data.length).toBeGreaterThanOrEqual(2);
    await expect(reader.tools.invoke('echo', { text: 'x' })).rejects.toBeInstanceOf(PermissionDeniedError);
    const runner = server().client(
      (await admin.apiKeys.create({ name: 'tool-runner', scopes: ['run'] })).key,
    );
    const invoked = await runner.transport.call(routes.invokeTool, {
      params: { name: 'echo' },
      body: { input: { text: 'ran' } },
    });
    expect(invoked.data.output).toBe('ran');
  });
});
