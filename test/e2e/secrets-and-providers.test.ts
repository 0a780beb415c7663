import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LLMock } from '@copilotkit/aimock';
import { routes } from '@runyard/protocol';
import { BadRequestError, ConflictError, NotFoundError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';
import { unusedPort } from '../support/ports.ts';

const providerKey = 'sk-provider-test-key';

/** A real OpenAI/Anthropic wire-protocol server on loopback that accepts only `providerKey`. */
let mock: LLMock;
beforeAll(async () => {
  mock = new LLMock({ port: 0, auth: { apiKeys: [providerKey] } });
  await mock.start();
});
afterAll(async () => {
  await mock.stop();
});

describe.each(backendNames)('secrets through the SDK on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('stores a secret, shows only metadata, rotates and deletes it', async () => {
    const { admin } = server();
    const response = await admin.transport.call(routes.createSecret, {
      body: { name: 'SERVICE_TOKEN', value: 'first-value' },
    });
    expect(response.status).toBe(201);
    const created = response.data;
    expect(created).toMatchObject({ name: 'SERVICE_TOKEN', version: 1 });
    expect(created.id).toMatch(/^sec_/);
    expect(created.fingerprint).toMatch(/^fp_[0-9a-f]{16}$/);
    expect(JSON.stringify(created)).not.toContain('first-value');

    const listed = await admin.secrets.list();
    expect(listed.data.map((secret) => secret.name)).toContain('SERVICE_TOKEN');
    expect(JSON.stringify(listed)).not.toContain('first-value');
    expect(await admin.secrets.get('SERVICE_TOKEN')).toEqual(created);

    const rotated = await admin.secrets.rotate('SERVICE_TOKEN', 'second-value');
    expect(rotated.version).toBe(2);
    expect(rotated.fingerprint).not.toBe(created.fingerprint);
    expect(rotated.createdAt).toBe(created.createdAt);

    // Equal values have equal fingerprints, so a user can tell whether two secrets hold the same value.
    const twin = await admin.secrets.create({ name: 'TWIN', value: 'second-value' });
    expect(twin.fingerprint).toBe(rotated.fingerprint);

    await expect(admin.secrets.create({ name: 'TWIN', value: 'x' })).rejects.toBeInstanceOf(ConflictError);
    await admin.secrets.delete('TWIN');
    await expect(admin.secrets.get('TWIN')).rejects.toBeInstanceOf(NotFoundError);
    await expect(admin.secrets.delete('TWIN')).rejects.toBeInstanceOf(NotFoundError);
    await expect(admin.secrets.rotate('TWIN', 'y')).rejects.toBeInstanceOf(NotFoundError);
  });

  it.skipIf(skip)('pages through secrets newest first', async () => {
    const { admin, client } = server();
    const workspace = await admin.workspaces.create({ name: 'secret pages' });
    const key = await admin.apiKeys.create({ name: 'pages', scopes: ['admin'], workspaceId: workspace.id });
    const scoped = client(key.key);
    for (const name of ['A', 'B', 'C']) await scoped.secrets.create({ name, value: name });
    const first = await scoped.secrets.list({ limit: 2 });
    expect(first.data.map((secret) => secret.name)).toEqual(['C', 'B']);
    const second = await scoped.secrets.list({ limit: 2, cursor: first.nextCursor ?? '' });
    expect(second.data.map((secret) => secret.name)).toEqual(['A']);
    expect(second.nextCursor).toBeNull();
  });
});

describe.each(backendNames)('providers through the SDK on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('has the built-in playground provider, which cannot be changed or deleted', async () => {
    const { admin } = server();
    const playground = await admin.providers.get('playground');
    expect(playground).toMatchObject({
      kind: 'playground',
      builtIn: true,
      models: ['playground'],
      apiKey: null,
    });
    expect(await admin.providers.test('playground')).toMatchObject({ ok: true, models: ['playground'] });
    await expect(admin.providers.update('playground', { models: ['x'] })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(admin.providers.delete('playground')).rejects.toBeInstanceOf(ConflictError);
  });

  it.skipIf(skip)('registers, changes, tests and deletes providers', async () => {
    const { admin } = server();
    await admin.secrets.create({ name: 'MOCK_KEY', value: providerKey });
    await admin.secrets.create({ name: 'WRONG_KEY', value: 'sk-wrong' });

    const response = await admin.transport.call(routes.createProvider, {
      body: {
        name: 'openai',
        kind: 'openai',
        baseUrl: `${mock.url}/v1`,
        apiKey: { secret: 'MOCK_KEY' },
        models: ['gpt-4o-mini'],
        requestsPerMinute: 60,
      },
    });
    expect(response.status).toBe(201);
    expect(response.data).toMatchObject({
      name: 'openai',
      kind: 'openai',
      apiKey: { secret: 'MOCK_KEY' },
      models: ['gpt-4o-mini'],
      requestsPerMinute: 60,
      builtIn: false,
    });
    const names = (await admin.providers.list()).data.map((provider) => provider.name);
    expect(names).toEqual(expect.arrayContaining(['openai', 'playground']));

    const passed = await admin.providers.test('openai');
    expect(passed.ok).toBe(true);
    expect(passed.models?.length).toBeGreaterThan(0);

    const rekeyed = await admin.providers.update('openai', {
      apiKey: { secret: 'WRONG_KEY' },
      requestsPerMinute: null,
    });
    expect(rekeyed.requestsPerMinute).toBeNull();
    expect(await admin.providers.test('openai')).toMatchObject({
      ok: false,
      error: { code: 'PROVIDER_AUTH_FAILED', status: 401 },
    });

    await admin.providers.update('openai', { baseUrl: `http://127.0.0.1:${await unusedPort()}/v1` });
    const unreachable = await admin.providers.test('openai');
    expect(unreachable).toMatchObject({ ok: false, error: { code: 'PROVIDER_UNREACHABLE' } });
    expect(unreachable.error?.message).toContain('ECONNREFUSED');

    // A secret a provider uses cannot be deleted from under it.
    await expect(admin.secrets.delete('WRONG_KEY')).rejects.toMatchObject({
      status: 409,
      details: { providers: ['openai'] },
    });
    await admin.providers.delete('openai');
    await expect(admin.providers.get('openai')).rejects.toBeInstanceOf(NotFoundError);
    await admin.secrets.delete('WRONG_KEY');
  });

  it.skipIf(skip)('tests an Anthropic provider with its own headers', async () => {
    const { admin } = server();
    await admin.secrets.create({ name: 'ANTHROPIC_KEY', value: providerKey });
    await admin.providers.create({
      name: 'claude',
      kind: 'anthropic',
      baseUrl: mock.url,
      apiKey: { secret: 'ANTHROPIC_KEY' },
      models: ['claude-sonnet-4'],
    });
    // The mock accepts only providerKey, so ok proves the key travelled in Anthropic's x-api-key header.
    expect(await admin.providers.test('claude')).toMatchObject({ ok: true });
    await admin.secrets.rotate('ANTHROPIC_KEY', 'sk-ant-wrong');
    expect(await admin.providers.test('claude')).toMatchObject({
      ok: false,
      error: { code: 'PROVIDER_AUTH_FAILED', status: 401 },
    });
  });

  it.skipIf(skip)(
    'rejects unknown secrets, duplicate names and openai-compatible without a base URL',
    async () => {
      const { admin } = server();
      const issues = async (promise: Promise<unknown>) => {
        const error = await promise.catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(BadRequestError);
        return (error as BadRequestError).details.issues;
      };
      expect(
        await issues(admin.providers.create({ name: 'ghost', kind: 'openai', apiKey: { secret: 'NOPE' } })),
      ).toEqual([expect.objectContaining({ path: 'apiKey.secret' })]);
      expect(await issues(admin.providers.create({ name: 'compat', kind: 'openai-compatible' }))).toEqual([
        expect.objectContaining({ path: 'baseUrl' }),
      ]);
      expect(await issues(admin.providers.create({ name: 'play', kind: 'playground' as 'openai' }))).toEqual([
        expect.objectContaining({ path: 'kind' }),
      ]);
      await admin.providers.create({
        name: 'twice',
        kind: 'openai-compatible',
        baseUrl: 'http://127.0.0.1:9/v1',
      });
      await expect(
        admin.providers.create({
          name: 'twice',
          kind: 'openai-compatible',
          baseUrl: 'http://127.0.0.1:9/v1',
        }),
      ).rejects.toBeInstanceOf(ConflictError);
      await expect(admin.providers.test('missing')).rejects.toBeInstanceOf(NotFoundError);
    },
  );
});
