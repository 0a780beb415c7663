import http from 'node:http';
import type net from 'node:net';
import { expect } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { waitUntil } from '../support/wait-until.ts';

/** What a Make client sees of one response: status, headers and the parsed JSON (or raw text). */
export interface MakeResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export interface MakeCall {
  body?: unknown;
  /** The query's teamId; `null` leaves it out. Default: 1, the default workspace's team. */
  teamId?: number | string | null;
  /** The whole Authorization header; default `Token <admin key>`; `null` sends none. */
  authorization?: string | null;
  headers?: Record<string, string>;
}

/** An RFC 9562 uuid as a strict validator checks it: version 1–8 and the variant bits `10`. */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** A plain fetch client of /compat/make, as a Make user would write one: base URL and key changed. */
export function makeClient(server: TestServer, key: string = server.adminKey) {
  const base = `${server.url}/compat/make`;
  return async (method: string, path: string, call: MakeCall = {}): Promise<MakeResponse> => {
    const url = new URL(`${base}${path}`);
    const teamId = call.teamId === undefined ? 1 : call.teamId;
    if (teamId !== null) url.searchParams.set('teamId', String(teamId));
    const authorization = call.authorization === undefined ? `Token ${key}` : call.authorization;
    const response = await fetch(url, {
      method,
      headers: {
        ...(authorization !== null && { authorization }),
        ...(call.body !== undefined && { 'content-type': 'application/json' }),
        ...call.headers,
      },
      ...(call.body !== undefined && {
        body: typeof call.body === 'string' ? call.body : JSON.stringify(call.body),
      }),
    });
    const text = await response.text();
    let body: unknown = text;
    const contentType = response.headers.get('content-type') ?? '';
    if (contentType.startsWith('application/json')) body = JSON.parse(text);
    // Every id a Make client is told, in every answer and stream event, is a strict RFC 9562 uuid.
    expectUuidIds(body, `${method} ${path}`);
    if (contentType.startsWith('text/event-stream')) {
      for (const event of parseSse(text)) {
        expect(event.id, `the SSE id of ${method} ${path}`).toMatch(uuidPattern);
        expectUuidIds(event.data, `an event of ${method} ${path}`);
      }
    }
    for (const header of ['x-agent-iteration-id', 'x-thread-id']) {
      const value = response.headers.get(header);
      if (value !== null) expect(value, header).toMatch(uuidPattern);
    }
    return { status: response.status, headers: response.headers, body, text };
  };
}

/**
 * Every string under a key `id` or `…Id` (agentId, threadId, lastAgentIterationId, …) is a strict
 * uuid; numeric ids (teamId, makeConnectionId) are Make's integers and are left alone.
 */
export function expectUuidIds(value: unknown, where: string): void {
  if (Array.isArray(value)) {
    for (const item of value) expectUuidIds(item, where);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, item] of Object.entries(value)) {
    if ((key === 'id' || key.endsWith('Id')) && typeof item === 'string') {
      expect(item, `${key} in ${where}`).toMatch(uuidPattern);
    } else if (key !== 'schema' && key !== 'outputParser') {
      expectUuidIds(item, where);
    }
  }
}

/** Make's error shape: `{message, code: "SC<status>", detail}`, as JSON. */
export function expectMakeError(response: MakeResponse, status: number): Record<string, unknown> {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = response.body as Record<string, unknown>;
  expect(typeof body.message).toBe('string');
  expect(body.code).toBe(`SC${status}`);
  expect(typeof body.detail).toBe('string');
  return body;
}

export interface SseEvent {
  event: string;
  id: string;
  data: unknown;
}

/** Server-Sent Events as a client parses them: blocks split by a blank line, comments dropped. */
export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => line !== '' && !line.startsWith(':')))
    .filter((lines) => lines.length > 0)
    .map((lines) => {
      const field = (name: string) =>
        lines
          .filter((line) => line.startsWith(`${name}:`))
          .map((line) => line.slice(name.length + 1).replace(/^ /, ''))
          .join('\n');
      return { event: field('event'), id: field('id'), data: JSON.parse(field('data')) as unknown };
    });
}

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real HTTP endpoint on 127.0.0.1 that records every request and answers 200. */
export async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  close: () => Promise<void>;
}> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/hooks/make`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { sleep } from '@runyard/protocol';

/** Polls `read` until `done` holds: the shared `waitUntil`, under the name these tests use. */
export function eventually<T>(read: () => T | Promise<T>, done: (value: T) => boolean): Promise<T> {
  return waitUntil(read, { what: 'the Make value to settle', until: done });
}
