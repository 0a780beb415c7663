import { describe, expect, it } from 'vitest';
import type { Run, RunEvent } from '@runyard/protocol';
import type { Runyard } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { eventsOf } from '../support/model-path.ts';
import type { TestServer } from '../support/server.ts';
import { useTestServer } from '../support/use-server.ts';

let names = 0;

async function agent(client: Runyard): Promise<string> {
  names += 1;
  const slug = `memo-${names}`;
  await client.agents.create({ slug, name: slug, model: 'playground/playground', tools: ['memory'] });
  return slug;
}

/** The playground's call of the memory tool with this input. */
const memory = (input: Record<string, unknown>) => `use memory ${JSON.stringify(input)}`;

const callIndex = (toolCallId: string) => Number(toolCallId.slice(toolCallId.lastIndexOf('_') + 1));

/** The results of a run's tool calls, in the order of the calls. */
async function results(server: TestServer, run: Run) {
  const events = await eventsOf(server, run.id);
  return (
    events
      .filter((event): event is Extract<RunEvent, { type: 'tool-result' }> => event.type === 'tool-result')
      // Parallel calls end in any order: the model's order is the index ending the playground's ids.
      .sort((left, right) => callIndex(left.toolCallId) - callIndex(right.toolCallId))
      .map((event) => ({ output: event.output, isError: event.isError }))
  );
}

describe.each(backendNames)('the memory built-in on %s', (backend) => {
  const { skip, server } = useTestServer(backend);

  it.skipIf(skip)('is listed as a built-in and needs a run', async () => {
    const { admin } = server();
    const tool = await admin.tools.get('memory');
    expect(tool).toMatchObject({ kind: 'builtin', builtIn: true, id: null, config: null });
    expect((await admin.tools.list({ limit: 200 })).data.map((item) => item.name)).toContain('memory');
    await expect(admin.tools.invoke('memory', { input: { action: 'list' } })).rejects.toMatchObject({
      status: 400,
    });
  });

  it.skipIf(skip)('keeps thread notes across runs of the thread, apart from other threads', async () => {
    const { admin } = server();
    const slug = await agent(admin);
    const first = await admin.runs.create(slug, {
      input: memory({ action: 'set', key: 'color', value: 'blue' }),
    });
    expect(await results(server(), first)).toEqual([
      { output: { scope: 'thread', key: 'color', stored: true }, isError: false },
    ]);
    const second = await admin.runs.create(slug, {
      input: memory({ action: 'get', key: 'color' }),
      threadId: first.threadId!,
    });
    expect(await results(server(), second)).toEqual([
      {
        output: {
          scope: 'thread',
          key: 'color',
          found: true,
          value: 'blue',
          updatedAt: expect.any(String) as unknown,
        },
        isError: false,
      },
    ]);
    // A new thread has notes of its own.
    const elsewhere = await admin.runs.create(slug, { input: memory({ action: 'get', key: 'color' }) });
    expect(elsewhere.threadId).not.toBe(first.threadId);
    expect(await results(server(), elsewhere)).toEqual([
      { output: { scope: 'thread', key: 'color', found: false, value: null }, isError: false },
    ]);
    // Overwrite, list, delete.
    const more = await admin.runs.create(slug, {
      input: `${memory({ action: 'set', key: 'color', value: { hue: 'x'.repeat(300) } })} ${memory({ action: 'set', key: 'size', value: 3 })}`,
      threadId: first.threadId!,
    });
    expect((await results(server(), more)).every((result) => !result.isError)).toBe(true);
    const listed = await admin.runs.create(slug, {
      input: memory({ action: 'list' }),
      threadId: first.threadId!,
    });
    const [list] = await results(server(), listed);
    const keys = (list?.output as { keys: { key: string; value: string }[] }).keys;
    expect(keys.map((entry) => entry.key)).toEqual(['color', 'size']);
    expect(keys[0]?.value).toMatch(/^\{"hue":"x+…\[truncated: 310 characters\]$/);
    expect(keys[1]?.value).toBe('3');
    const deleted = await admin.runs.create(slug, {
      input: `${memory({ action: 'delete', key: 'size' })}`,
      threadId: first.threadId!,
    });
    expect(await results(server(), deleted)).toEqual([
      { output: { scope: 'thread', key: 'size', deleted: true }, isError: false },
    ]);
  });

  it.skipIf(skip)('keeps agent notes across threads; other agents and workspaces see none', async () => {
    const { admin } = server();
    const slug = await agent(admin);
    await admin.runs.create(slug, {
      input: memory({ action: 'set', key: 'owner', value: 'ada', scope: 'agent' }),
    });
    const get = memory({ action: 'get', key: 'owner', scope: 'agent' });
    const other = await admin.runs.create(slug, { input: get });
    expect((await results(server(), other))[0]?.output).toMatchObject({
      scope: 'agent',
      found: true,
      value: 'ada',
    });
    // A stateless run has no thread: agent notes by default, and no thread scope.
    const stateless = await admin.runs.create(slug, {
      input: `${memory({ action: 'get', key: 'owner' })} ${memory({ action: 'get', key: 'owner', scope: 'thread' })}`,
      stateless: true,
    });
    const [byDefault, threadScoped] = await results(server(), stateless);
    expect(byDefault?.output).toMatchObject({ scope: 'agent', found: true, value: 'ada' });
    expect(threadScoped).toMatchObject({
      isError: true,
      output: expect.stringContaining('no thread') as unknown,
    });

    const anotherAgent = await agent(admin);
    const notMine = await admin.runs.create(anotherAgent, { input: get });
    expect((await results(server(), notMine))[0]?.output).toMatchObject({ found: false });

    const workspace = await admin.workspaces.create({ name: `memory other ${names}` });
    const key = await admin.apiKeys.create({ name: 'other', scopes: ['admin'], workspaceId: workspace.id });
    const foreign = server().client(key.key);
    // The same slug in another workspace is another agent, with notes of its own.
    await foreign.agents.create({ slug, name: slug, model: 'playground/playground', tools: ['memory'] });
    const foreignRun = await foreign.runs.create(slug, { input: get });
    const foreignEvents = await foreign.runs.events(foreignRun.id);
    const foreignResult = foreignEvents.find((event) => event.type === 'tool-result');
    expect(foreignResult).toMatchObject({ output: { found: false }, isError: false });
  });

  it.skipIf(skip)(
    'refuses keys, values and key counts over the limits',
    async () => {
      const { admin } = server();
      const slug = await agent(admin);
      const tooLong = await admin.runs.create(slug, {
        input: `${memory({ action: 'set', key: 'k'.repeat(201), value: 1 })} ${memory({ action: 'set', key: 'big', value: 'v'.repeat(16 * 1024) })} ${memory({ action: 'get' })} ${memory({ action: 'set', key: 'nothing' })}`,
      });
      const [longKey, bigValue, noKey, noValue] = await results(server(), tooLong);
      expect(longKey).toMatchObject({ isError: true, output: expect.stringContaining('key') as unknown });
      expect(bigValue).toMatchObject({
        isError: true,
        output: expect.stringContaining('at most 16384') as unknown,
      });
      expect(noKey).toMatchObject({ isError: true, output: 'get needs a key' });
      expect(noValue).toMatchObject({
        isError: true,
        output: expect.stringContaining('set needs a value') as unknown,
      });

      // 1000 keys fill a scope (four steps of 250 parallel calls); the next new key is refused.
      for (let batch = 0; batch < 4; batch += 1) {
        const fill = Array.from({ length: 250 }, (_, index) =>
          memory({ action: 'set', key: `k${batch * 250 + index}`, value: index, scope: 'agent' }),
        ).join(' ');
        const filled = await admin.runs.create(slug, { input: fill, stateless: true });
        expect(filled.status).toBe('succeeded');
      }
      const full = await admin.runs.create(slug, {
        input: `${memory({ action: 'set', key: 'one-more', value: 1, scope: 'agent' })} ${memory({ action: 'set', key: 'k7', value: 'changed', scope: 'agent' })}`,
        stateless: true,
      });
      const [refused, replaced] = await results(server(), full);
      expect(refused).toMatchObject({
        isError: true,
        output: expect.stringContaining('1000 keys') as unknown,
      });
      expect(replaced).toMatchObject({ isError: false, output: { stored: true } });
    },
    60_000,
  );
});
