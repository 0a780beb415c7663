import type { FastifyReply } from 'fastify';
import type { RunEvent } from '@runyard/protocol';

/** A comment line keeps proxies and load balancers from closing an idle stream. */
const keepaliveMs = 15_000;

/** One Server-Sent Event: `event` (omitted: the default `message`), `id` and JSON `data`. */
export interface ServerSentEvent {
  event?: string;
  id?: string | number;
  data: unknown;
}

export interface ServerSentEventOptions {
  headers?: Record<string, string>;
  /** The last event sent when the source fails while the client is still there, in the surface's error shape. */
  failure: (requestId: string) => ServerSentEvent;
}

/**
 * Writes events as Server-Sent Events, with keepalive comments, and ends after the last one. Every
 * surface's stream (ours and the compat ones) goes through here, rendered from the run event log.
 */
export async function sendServerSentEvents(
  reply: FastifyReply,
  events: AsyncIterable<ServerSentEvent>,
  signal: AbortSignal,
  options: ServerSentEventOptions,
): Promise<FastifyReply> {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    ...options.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': reply.request.id,
  });
  response.flushHeaders();
  const keepalive = setInterval(() => response.write(': keepalive\n\n'), keepaliveMs);
  const write = (item: ServerSentEvent) => {
    const event = item.event === undefined ? '' : `event: ${item.event}\n`;
    const id = item.id === undefined ? '' : `id: ${item.id}\n`;
    response.write(`${event}${id}data: ${JSON.stringify(item.data)}\n\n`);
  };
  try {
    for await (const item of events) {
      if (signal.aborted) break;
      write(item);
    }
  } catch (error) {
    reply.request.log.error({ err: error }, 'event stream failed');
    if (!signal.aborted) write(options.failure(reply.request.id));
  } finally {
    clearInterval(keepalive);
    response.end();
  }
  return reply;
}

/**
 * Writes run events as Server-Sent Events: `id: <seq>` and the event's JSON as `data`, so a client
 * reconnects with `Last-Event-ID` exactly after the last event it saw.
 */
export function sendEventStream(
  reply: FastifyReply,
  events: AsyncIterable<RunEvent>,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<FastifyReply> {
  return sendServerSentEvents(reply, mapEvents(events), signal, {
    headers,
    failure: () => ({
      event: 'error',
      data: { error: { code: 'INTERNAL_ERROR', message: 'the event stream failed', details: {} } },
    }),
  });
}

async function* mapEvents(events: AsyncIterable<RunEvent>): AsyncGenerator<ServerSentEvent> {
  for await (const event of events) yield { id: event.seq, data: event };
}
