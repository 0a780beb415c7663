import { describe, expect, it } from 'vitest';
import type { RunEvent } from '@runyard/protocol';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';

/** One model step that calls echo this many times in parallel: hundreds of events in one batch. */
const parallelCalls = 250;
/** The lost run-end depended on timing (a batch still being written when the run ended): a few runs catch it. */
const attempts = 3;
const input = Array.from({ length: parallelCalls }, (_, index) => `use echo {"text":"${index}"}`).join(' ');

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

/** The whole stored log, page by page (a page holds at most 1000 events). */
async function storedLog(
  events: (runId: string, query: { after: number }) => Promise<RunEvent[]>,
  runId: string,
): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for (;;) {
    const page = await events(runId, { after: all.at(-1)?.seq ?? 0 });
    if (page.length === 0) return all;
    all.push(...page);
  }
}

function expectWholeLog(events: RunEvent[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events[0]?.type).toBe('run-start');
  expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
  const types = events.map((event) => event.type);
  expect(types.filter((type) => type === 'tool-call')).toHaveLength(parallelCalls);
  expect(types.filter((type) => type === 'tool-result')).toHaveLength(parallelCalls);
}

describe.each(backendNames)('a step with %s parallel tool calls', (backend) => {
  const { skip, server } = useTestServer(backend);
  let created = false;
  const agent = async () => {
    if (!created) {
      created = true;
      await server().admin.agents.create({
        slug: 'fan-out',
        name: 'Fan-out',
        model: 'playground/playground',
        instructions: 'Call the tools.',
        tools: ['echo'],
      });
    }
    return 'fan-out';
  };

  it.skipIf(skip)(
    'a wait-mode run returns succeeded and its stored log has every event in order',
    async () => {
      const { admin } = server();
      for (let attempt = 0; attempt < attempts; attempt += 1) {
        const run = await admin.runs.create(await agent(), { input });
        expect(run).toMatchObject({ status: 'succeeded', error: null, iterations: 2 });
        expectWholeLog(await storedLog(admin.runs.events, run.id));
      }
    },
    60_000,
  );

  it.skipIf(skip)(
    'a stream-mode client receives every event through run-end',
    async () => {
      const { admin } = server();
      for (let attempt = 0; attempt < attempts; attempt += 1) {
        const events = await collect(admin.runs.stream(await agent(), { input, stateless: true }));
        expectWholeLog(events);
        const runId = events[0]?.type === 'run-start' ? events[0].runId : '';
        expect(await storedLog(admin.runs.events, runId)).toEqual(events);
      }
    },
    60_000,
  );
});
