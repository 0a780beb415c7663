import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '@runyard/protocol';
import { ConnectionError, Runyard } from '@runyard/sdk';
import { backendNames } from '../support/backends.ts';
import { useTestServer } from '../support/use-server.ts';

/**
 * The SDK's event streams: framed by eventsource-parser (LF, CRLF and CR line ends), and resumed
 * with Last-Event-ID after a dropped connection, so a reader sees exactly the stored log, 1..N.
 */

async function collect(
  events: AsyncIterable<RunEvent>,
  limit = Number.POSITIVE_INFINITY,
): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of events) {
    all.push(event);
    if (all.length >= limit) break;
  }
  return all;
}

const gapFree = (events: readonly RunEvent[]) => events.map((_, index) => index + 1);

interface StreamConnection {
  method: string;
  path: string;
  lastEventId: string | undefined;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A real HTTP proxy in front of the server that cuts the first event stream after `cutAfter` whole
 * events: by closing the connection mid-body, or by ending the response cleanly before `run-end`.
 */
async function cuttingProxy(target: string, cutAfter: number, how: 'cut' | 'end') {
  const streams: StreamConnection[] = [];
  const server = http.createServer((request, response) => {
    const isStream = (request.headers.accept ?? '').includes('text/event-stream');
    const index = isStream ? streams.length : -1;
    if (isStream) {
      const lastEventId = request.headers['last-event-id'];
      streams.push({
        method: request.method ?? '',
        path: request.url ?? '',
        lastEventId: lastEventId as string,
      });
    }
    const upstream = http.request(
      new URL(request.url ?? '/', target),
      { method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        if (index !== 0) {
          answer.pipe(response);
          return;
        }
        let pending = '';
        let forwarded = 0;
        answer.setEncoding('utf8');
        answer.on('data', (chunk: string) => {
          pending += chunk;
          let frames = '';
          let end = pending.indexOf('\n\n');
          while (end !== -1 && forwarded < cutAfter) {
            const frame = pending.slice(0, end + 2);
            pending = pending.slice(end + 2);
            frames += frame;
            if (frame.includes('data:')) forwarded += 1;
            end = pending.indexOf('\n\n');
          }
          if (forwarded < cutAfter) {
            response.write(frames);
            return;
          }
          answer.destroy();
          // Cut once what was forwarded has been written to the socket (a socket closed at once
          // may drop writes the response still holds corked). 'cut': the socket closes in the
          // middle of the chunked body; 'end': the response ends cleanly before run-end.
          response.write(frames, () => {
            if (how === 'cut') response.socket?.end();
            else response.end();
          });
        });
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  return { url: await listen(server), streams };
}

describe.each(backendNames)('SDK event streams against a real server on %s', (backend) => {
  const { skip, server } = useTestServer(backend);
  /** The playground agent of the runs: an upsert, so every test may call it first. */
  const agent = async () => {
    const tools = ['echo'];
    await server().admin.agents.upsert('streamer', {
      name: 'Streamer',
      model: 'playground/playground',
      tools,
    });
    return 'streamer';
  };

  it.skipIf(skip)(
    'read in two connections, a run gives the same gap-free events as its stored log',
    async () => {
      const { admin } = server();
      const run = await admin.runs.create(await agent(), {
        input: 'use echo {"text":"two connections"}',
        mode: 'background',
      });
      const first = await collect(admin.runs.follow(run.id), 4);
      expect(first.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
      const rest = await collect(admin.runs.follow(run.id, 4));
      const events = [...first, ...rest];
      expect(events.map((event) => event.seq)).toEqual(gapFree(events));
      expect(events.at(-1)?.type).toBe('run-end');
      expect(await admin.runs.events(run.id)).toEqual(events);
    },
  );

  for (const how of ['cut', 'end'] as const) {
    it.skipIf(skip)(
      `resumes on its own after the stream is cut (${how}) and misses or repeats nothing`,
      async () => {
        const { admin, adminKey, url } = server();
        const proxy = await cuttingProxy(url, 3, how);
        const client = new Runyard({ baseUrl: proxy.url, apiKey: adminKey });
        const events = await collect(
          client.runs.stream(await agent(), { input: 'use echo {"text":"cut me off"}' }),
        );
        expect(events.map((event) => event.seq)).toEqual(gapFree(events));
        expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
        const runId = events[0]?.type === 'run-start' ? events[0].runId : '';
        expect(await admin.runs.events(runId)).toEqual(events);
        // The POST was cut after event 3; the rest came from the run's stream, after event 3.
        expect(proxy.streams).toEqual([
          { method: 'POST', path: `/v1/agents/${await agent()}/runs`, lastEventId: undefined },
          { method: 'GET', path: `/v1/runs/${runId}/stream`, lastEventId: '3' },
        ]);
      },
    );
  }
});

/** Run events as a server would store them, for servers of the tests' own that frame them. */
function sampleEvents(runId: string): RunEvent[] {
  const at = '2026-01-01T00:00:00.000Z';
  return [
    {
      seq: 1,
      at,
      type: 'run-start',
      runId,
      agentId: 'agt_01jz0000000000000000000000',
      agentVersion: 1,
      threadId: null,
      model: 'playground/playground',
    },
    { seq: 2, at, type: 'step-start', step: 1, attempt: 1 },
    { seq: 3, at, type: 'text-delta', step: 1, delta: 'line one\nline two' },
    { seq: 4, at, type: 'text-delta', step: 1, delta: ' and more' },
  ];
}

describe('SDK event stream framing', () => {
  it.each([
    ['CRLF', '\r\n'],
    ['CR', '\r'],
    ['LF', '\n'],
  ])('parses %s-framed events, split anywhere, with comments and multi-line data', async (_name, eol) => {
    const runId = 'run_01jz0000000000000000000000';
    const events = sampleEvents(runId);
    const body = [
      `: keepalive${eol}${eol}`,
      ...events.map((event) => {
        // The data split over two `data:` lines: the parser joins them with a newline, which JSON allows.
        const json = JSON.stringify(event);
        const middle = json.indexOf(',');
        return `id: ${event.seq}${eol}data: ${json.slice(0, middle + 1)}${eol}data: ${json.slice(middle + 1)}${eol}${eol}`;
      }),
    ].join('');
    const requested: (string | undefined)[] = [];
    const server = http.createServer((request, response) => {
      const lastEventId = request.headers['last-event-id'] as string | undefined;
      requested.push(lastEventId);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      // Three bytes at a time: line ends (CR and LF of one CRLF too) fall across chunk boundaries.
      const bytes = Buffer.from(Number(lastEventId ?? 0) === 0 ? body : '', 'utf8');
      for (let offset = 0; offset < bytes.length; offset += 3)
        response.write(bytes.subarray(offset, offset + 3));
      response.end();
    });
    const client = new Runyard({ baseUrl: await listen(server), apiKey: 'ry_unused', maxRetries: 1 });
    // No run-end: the first stream ends after event 4, so the client resumes after 4, where the
    // server has nothing more and ends the stream: the client ends too.
    expect(await collect(client.runs.follow(runId))).toEqual(events);
    expect(requested).toEqual(['0', '4']);
  });

  it('gives up with a ConnectionError after maxRetries cuts in a row that bring nothing new', async () => {
    const runId = 'run_01jz0000000000000000000002';
    const [first, second] = sampleEvents(runId);
    const requested: (string | undefined)[] = [];
    const server = http.createServer((request, response) => {
      requested.push(request.headers['last-event-id'] as string | undefined);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      if (requested.length === 1) {
        response.write(`id: 1\r\ndata: ${JSON.stringify(first)}\r\n\r\n`);
        response.write(`id: 2\r\ndata: ${JSON.stringify(second)}\r\n\r\n`);
      }
      // Every connection is cut in the middle of its chunked body.
      response.write(': more to come\r\n', () => response.socket?.end());
    });
    const client = new Runyard({ baseUrl: await listen(server), apiKey: 'ry_unused', maxRetries: 2 });
    const seen: RunEvent[] = [];
    const failure = await (async () => {
      for await (const event of client.runs.follow(runId)) seen.push(event);
    })().catch((error: unknown) => error);
    expect(seen).toEqual([first, second]);
    expect(failure).toBeInstanceOf(ConnectionError);
    expect((failure as Error).message).toContain(`the stream of run ${runId} ended after event 2`);
    expect(requested).toEqual(['0', '2', '2']);
  });

  it('resumes with Last-Event-ID set to the last event it saw', async () => {
    const runId = 'run_01jz0000000000000000000001';
    const events: RunEvent[] = [
      ...sampleEvents(runId),
      {
        seq: 5,
        at: '2026-01-01T00:00:00.000Z',
        type: 'run-end',
        status: 'succeeded',
        output: { text: 'line one\nline two and more' },
        error: null,
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
        costUsd: 0,
      },
    ];
    const requested: (string | undefined)[] = [];
    const server = http.createServer((request, response) => {
      const lastEventId = request.headers['last-event-id'] as string | undefined;
      requested.push(lastEventId);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const after = Number(lastEventId ?? 0);
      // The first connection ends after two events, the second after one more; the third finishes.
      const until = requested.length === 1 ? 2 : requested.length === 2 ? 3 : events.length;
      for (const event of events.filter((each) => each.seq > after && each.seq <= until)) {
        response.write(`id: ${event.seq}\r\ndata: ${JSON.stringify(event)}\r\n\r\n`);
      }
      response.end();
    });
    const client = new Runyard({ baseUrl: await listen(server), apiKey: 'ry_unused', maxRetries: 1 });
    const seen = await collect(client.runs.follow(runId, 0));
    expect(seen.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(requested).toEqual(['0', '2', '3']);
  });
});
