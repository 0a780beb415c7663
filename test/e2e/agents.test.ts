import { describe, expect, it } from 'vitest';
import { routes } from '@runyard/protocol';
import { BadRequestError, ConflictError, NotFoundError } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';

describe.each(backendNames)('agents through the SDK on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('creates an agent as version 1 with defaults filled in and an ETag', async () => {
    const response = await server().admin.transport.call(routes.createAgent, {
      body: {
        slug: 'support',
        name: 'Support',
        model: 'playground/playground',
        instructions: 'Be kind.',
        tags: ['customer', 'tier-1'],
        category: 'service',
        settings: { temperature: 0.2, maxIterations: 5 },
        metadata: { owner: 'team-a' },
      },
    });
    expect(response.status).toBe(201);
    const agent = response.data;
    expect(agent.id).toMatch(/^agt_/);
    expect(agent).toMatchObject({
      slug: 'support',
      name: 'Support',
      description: '',
      category: 'service',
      subcategory: null,
      tags: ['customer', 'tier-1'],
      status: 'active',
      metadata: { owner: 'team-a' },
      model: 'playground/playground',
      instructions: 'Be kind.',
      tools: [],
      policies: [],
      outputSchema: null,
      settings: { temperature: 0.2, maxIterations: 5 },
      env: {},
      version: 1,
      environments: { draft: 1, staging: null, production: null },
    });
    expect(response.headers.get('etag')).toBe(agent.etag);

    const byId = await server().admin.agents.get(agent.id);
    const bySlug = await server().admin.agents.get('support');
    expect(byId).toEqual(agent);
    expect(bySlug).toEqual(agent);
  });

  it.skipIf(skip)('versions behaviour changes only, and an identical write makes none', async () => {
    const { admin } = server();
    await admin.agents.create({ slug: 'versioned', name: 'Versioned', model: 'playground/playground' });
    const renamed = await admin.agents.update('versioned', { name: 'Renamed', tags: ['x'] });
    expect(renamed.version).toBe(1);
    expect(renamed.name).toBe('Renamed');

    const changed = await admin.agents.update('versioned', {
      instructions: 'Be brief.',
      settings: { temperature: 0.5 },
    });
    expect(changed.version).toBe(2);
    const same = await admin.agents.update('versioned', { instructions: 'Be brief.' });
    expect(same.version).toBe(2);
    expect(same.etag).toBe(changed.etag);

    const versions = await admin.agents.versions('versioned');
    expect(versions.map((version) => version.version)).toEqual([2, 1]);
    expect(versions[0]?.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(versions[0]?.contentHash).not.toBe(versions[1]?.contentHash);
    expect(versions[1]?.config.instructions).toBe('');

    const first = await admin.agents.version('versioned', 1);
    expect(first.config).toEqual({
      model: 'playground/playground',
      instructions: '',
      tools: [],
      policies: [],
      outputSchema: null,
      settings: {},
      env: {},
    });
    const diff = await admin.agents.diff('versioned', 1, 2);
    expect(diff).toEqual({
      from: 1,
      to: 2,
      changes: [
        { path: 'instructions', before: '', after: 'Be brief.' },
        { path: 'settings.temperature', before: null, after: 0.5 },
      ],
    });
    await expect(admin.agents.version('versioned', 9)).rejects.toBeInstanceOf(NotFoundError);
  });

  it.skipIf(skip)('promotes versions to staging and production and rolls back', async () => {
    const { admin } = server();
    await admin.agents.create({ slug: 'promoted', name: 'Promoted', model: 'playground/playground' });
    await admin.agents.update('promoted', { instructions: 'v2' });
    await admin.agents.update('promoted', { instructions: 'v3' });

    const staged = await admin.agents.promote('promoted', { version: 3, environment: 'staging' });
    expect(staged.environments).toEqual({ draft: 3, staging: 3, production: null });
    const live = await admin.agents.promote('promoted', { version: 2, environment: 'production' });
    expect(live.environments).toEqual({ draft: 3, staging: 3, production: 2 });
    const rolledBack = await admin.agents.promote('promoted', { version: 1, environment: 'production' });
    expect(rolledBack.environments.production).toBe(1);
    expect((await admin.agents.get('promoted')).environments).toEqual({
      draft: 3,
      staging: 3,
      production: 1,
    });

    const missing = await admin.agents
      .promote('promoted', { version: 7, environment: 'staging' })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(BadRequestError);
    expect((missing as BadRequestError).details.issues).toEqual([
      expect.objectContaining({ path: 'version' }),
    ]);
  });

  it.skipIf(skip)('upserts with PUT: 201 created, 200 updated, 200 unchanged', async () => {
    const { admin } = server();
    const body = { name: 'Upserted', model: 'playground/playground', instructions: 'one' };
    const created = await admin.transport.call(routes.upsertAgent, { params: { slug: 'upserted' }, body });
    expect(created.status).toBe(201);
    expect(created.data.action).toBe('created');
    expect(created.data.agent.version).toBe(1);

    const updated = await admin.transport.call(routes.upsertAgent, {
      params: { slug: 'upserted' },
      body: { ...body, instructions: 'two' },
    });
    expect(updated.status).toBe(200);
    expect(updated.data).toMatchObject({ action: 'updated', agent: { version: 2, instructions: 'two' } });

    const unchanged = await admin.agents.upsert('upserted', { ...body, instructions: 'two' });
    expect(unchanged.action).toBe('unchanged');
    expect(unchanged.agent.version).toBe(2);

    // PUT replaces: an omitted optional field returns to its default.
    const tagged = await admin.agents.upsert('upserted', { ...body, instructions: 'two', tags: ['a'] });
    expect(tagged.agent.tags).toEqual(['a']);
    const untagged = await admin.agents.upsert('upserted', { ...body, instructions: 'two' });
    expect(untagged.agent.tags).toEqual([]);
    expect(untagged.agent.version).toBe(2);

    const mismatch = await admin.agents
      .upsert('upserted', { ...body, slug: 'other' })
      .catch((error: unknown) => error);
    expect(mismatch).toBeInstanceOf(BadRequestError);
    expect((mismatch as BadRequestError).details.issues).toEqual([expect.objectContaining({ path: 'slug' })]);
  });

  it.skipIf(skip)('rejects a stale If-Match with 412 and accepts the current ETag', async () => {
    const { admin } = server();
    const agent = await admin.agents.create({
      slug: 'guarded',
      name: 'Guarded',
      model: 'playground/playground',
    });
    const changed = await admin.agents.update('guarded', { instructions: 'new' }, { ifMatch: agent.etag });
    expect(changed.version).toBe(2);
    const stale = await admin.agents
      .update('guarded', { instructions: 'newer' }, { ifMatch: agent.etag })
      .catch((error: unknown) => error);
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).status).toBe(412);
    expect((stale as ConflictError).code).toBe('PRECONDITION_FAILED');
    expect((await admin.agents.get('guarded')).instructions).toBe('new');

    await expect(admin.agents.delete('guarded', { ifMatch: agent.etag })).rejects.toMatchObject({
      status: 412,
    });
    await admin.agents.delete('guarded', { ifMatch: changed.etag });
    await expect(admin.agents.get('guarded')).rejects.toBeInstanceOf(NotFoundError);
  });

  it.skipIf(skip)('keeps every concurrent write without If-Match as its own version', async () => {
    const { admin } = server();
    await admin.agents.create({ slug: 'contended', name: 'Contended', model: 'playground/playground' });
    const writes = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        admin.agents.update('contended', { instructions: `writer ${index}` }),
      ),
    );
    expect(writes.every((agent) => agent.version >= 2)).toBe(true);
    const versions = await admin.agents.versions('contended');
    expect(versions.map((version) => version.version)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    const instructions = versions.slice(0, 6).map((version) => version.config.instructions);
    expect(new Set(instructions).size).toBe(6);
  });

  it.skipIf(skip)('names the field when the model, output schema or env reference is wrong', async () => {
    const { admin } = server();
    const failure = async (body: Parameters<typeof admin.agents.create>[0]) => {
      const error = await admin.agents.create(body).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BadRequestError);
      return (error as BadRequestError).details.issues as { path: string; message: string }[];
    };
    expect(await failure({ slug: 'bad-model', name: 'x', model: 'nowhere/gpt' })).toEqual([
      expect.objectContaining({ path: 'model', message: expect.stringContaining("'nowhere'") as unknown }),
    ]);
    expect(
      await failure({
        slug: 'bad-schema',
        name: 'x',
        model: 'playground/playground',
        outputSchema: { type: 'not-a-type' },
      }),
    ).toEqual([expect.objectContaining({ path: 'outputSchema' })]);
    expect(
      await failure({
        slug: 'bad-env',
        name: 'x',
        model: 'playground/playground',
        env: { TOKEN: { secret: 'MISSING' } },
      }),
    ).toEqual([expect.objectContaining({ path: 'env.TOKEN.secret' })]);
    expect(await failure({ slug: 'Bad Slug', name: 'x', model: 'playground/playground' })).toEqual([
      expect.objectContaining({ path: 'slug' }),
    ]);
    await expect(admin.agents.get('bad-model')).rejects.toBeInstanceOf(NotFoundError);

    await admin.agents.create({ slug: 'taken', name: 'x', model: 'playground/playground' });
    await expect(
      admin.agents.create({ slug: 'taken', name: 'y', model: 'playground/playground' }),
    ).rejects.toMatchObject({ status: 409, code: 'CONFLICT' });
  });

  it.skipIf(skip)('accepts a valid output schema and env values and secret references', async () => {
    const { admin } = server();
    await admin.secrets.create({ name: 'AGENT_TOKEN', value: 'tok-123' });
    const agent = await admin.agents.create({
      slug: 'structured',
      name: 'Structured',
      model: 'playground/playground',
      outputSchema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] },
      env: { REGION: 'eu', TOKEN: { secret: 'AGENT_TOKEN' } },
    });
    expect(agent.outputSchema).toEqual({
      type: 'object',
      properties: { answer: { type: 'string' } },
      required: ['answer'],
    });
    expect(agent.env).toEqual({ REGION: 'eu', TOKEN: { secret: 'AGENT_TOKEN' } });
    // A secret an agent reads cannot be deleted from under it.
    await expect(admin.secrets.delete('AGENT_TOKEN')).rejects.toMatchObject({
      status: 409,
      details: { agents: ['structured'] },
    });
  });

  it.skipIf(skip)(
    'lists newest first with cursor pages and filters by tag, category, status, search',
    async () => {
      const { admin } = server();
      const workspace = await admin.workspaces.create({ name: 'listing' });
      const key = await admin.apiKeys.create({
        name: 'lister',
        scopes: ['admin'],
        workspaceId: workspace.id,
      });
      const client = server().client(key.key);
      const definitions = [
        { slug: 'alpha', name: 'Alpha Desk', tags: ['red'], category: 'sales' },
        { slug: 'beta', name: 'Beta 100%', tags: ['red', 'blue'], category: 'support' },
        { slug: 'gamma', name: 'Gamma_under', tags: ['blue'], category: 'support', status: 'paused' },
        { slug: 'delta', name: 'Delta', tags: [], category: 'sales' },
        { slug: 'epsilon', name: 'Epsilon desk', tags: ['red'], category: 'sales' },
      ] as const;
      for (const definition of definitions) {
        await client.agents.create({
          ...definition,
          tags: [...definition.tags],
          model: 'playground/playground',
        });
      }
      const slugs = (page: { data: { slug: string }[] }) => page.data.map((agent) => agent.slug);

      const first = await client.agents.list({ limit: 2 });
      expect(slugs(first)).toEqual(['epsilon', 'delta']);
      expect(first.nextCursor).not.toBeNull();
      const second = await client.agents.list({ limit: 2, cursor: first.nextCursor ?? '' });
      expect(slugs(second)).toEqual(['gamma', 'beta']);
      const third = await client.agents.list({ limit: 2, cursor: second.nextCursor ?? '' });
      expect(slugs(third)).toEqual(['alpha']);
      expect(third.nextCursor).toBeNull();

      expect(slugs(await client.agents.list({ tag: 'red' }))).toEqual(['epsilon', 'beta', 'alpha']);
      expect(slugs(await client.agents.list({ category: 'support' }))).toEqual(['gamma', 'beta']);
      expect(slugs(await client.agents.list({ status: 'paused' }))).toEqual(['gamma']);
      expect(slugs(await client.agents.list({ search: 'desk' }))).toEqual(['epsilon', 'alpha']);
      // LIKE wildcards in a search are literal characters.
      expect(slugs(await client.agents.list({ search: '100%' }))).toEqual(['beta']);
      expect(slugs(await client.agents.list({ search: '_under' }))).toEqual(['gamma']);
      expect(slugs(await client.agents.list({ search: '_' }))).toEqual(['gamma']);
      expect(slugs(await client.agents.list({ tag: 'blue', category: 'support', status: 'active' }))).toEqual(
        ['beta'],
      );

      await client.agents.delete('beta');
      expect(slugs(await client.agents.list({ tag: 'blue' }))).toEqual(['gamma']);
      // The slug of a deleted agent is free again.
      const reborn = await client.agents.create({
        slug: 'beta',
        name: 'Beta again',
        model: 'playground/playground',
      });
      expect(reborn.version).toBe(1);
    },
  );

  it.skipIf(skip)('refuses to delete a provider that an agent uses', async () => {
    const { admin } = server();
    await admin.providers.create({ name: 'local', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9' });
    await admin.agents.create({ slug: 'uses-local', name: 'x', model: 'local/some-model' });
    await expect(admin.providers.delete('local')).rejects.toMatchObject({
      status: 409,
      details: { agents: ['uses-local'] },
    });
    await admin.agents.delete('uses-local');
    await admin.providers.delete('local');
    await expect(admin.providers.get('local')).rejects.toBeInstanceOf(NotFoundError);
  });
});
