import type { FastifyReply } from 'fastify';
import type { RunEvent } from '@runyard/protocol';

/** A comment line keeps proxies and load balancers from closing an idle stream. */
const keepaliveMs = 15_000;

/**
 * Writes run events as Server-Sent Events: `id: <seq>` and the event's JSON as `data`, so a client
 * reconnects with `Last-Event-ID` exactly after the last event it saw. Ends after the last event.
 */
export async function sendEventStream(
  reply: FastifyReply,
  events: AsyncIterable<RunEvent>,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<FastifyReply> {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': reply.request.id,
  });
  response.flushHeaders();
  const keepalive = setInterval(() => response.write(': keepalive\n\n'), keepaliveMs);
  try {
    for await (const event of events) {
      if (signal.aborted) break;
      response.write(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
    }
  } catch (error) {
    reply.request.log.error({ err: error }, 'event stream failed');
    if (!signal.aborted) {
      response.write(
        `event: error\ndata: ${JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: 'the event stream failed', details: {} } })}\n\n`,
      );
    }
  } finally {
    clearInterval(keepalive);
    response.end();
  }
  return reply;
}
