import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  acceptedScopes,
  describeScopes,
  routes,
  type BodyOf,
  type OperationId,
  type ParamsOf,
  type QueryOf,
  type ResponseOf,
  type RouteDefinition,
  type Routes,
  type RunEvent,
} from '@runyard/protocol';
import { hasScope, type Caller } from '../core/caller.ts';
import type { Services } from '../core/services.ts';
import { RunyardError } from '../shared/errors.ts';
import type { RateLimiter } from './rate-limit.ts';
import { headerValue } from './request-headers.ts';
import { sendEventStream } from './sse.ts';
import { parseOrThrow } from './validation.ts';

export interface HandlerInput<R> {
  caller: Caller;
  params: ParamsOf<R>;
  query: QueryOf<R>;
  body: BodyOf<R>;
  /** The If-Match header, for conditional routes. */
  ifMatch: string | undefined;
  /** The Last-Event-ID header, for streaming routes. */
  lastEventId: string | undefined;
  /** Aborted when the client goes away: a streaming or waiting handler stops (the run does not). */
  signal: AbortSignal;
}

export interface HandlerResult<R> {
  status?: number;
  body?: ResponseOf<R>;
  headers?: Record<string, string>;
  /** Sent as Server-Sent Events instead of `body` (which idempotency stores). */
  events?: AsyncIterable<RunEvent>;
}

export type Handler<R> = (input: HandlerInput<R>) => Promise<HandlerResult<R>>;
export type Handlers = { [K in OperationId]: Handler<Routes[K]> };

export interface BindingDependencies {
  services: Services;
  rateLimiter: RateLimiter;
}

/** Registers every route of the catalogue: auth, rate limit, scope, validation, idempotency, then the handler. */
export function bindRoutes(
  app: FastifyInstance,
  handlers: Handlers,
  dependencies: BindingDependencies,
): void {
  for (const operationId of Object.keys(routes) as OperationId[]) {
    const route = routes[operationId] as RouteDefinition;
    const handler = handlers[operationId] as Handler<RouteDefinition>;
    app.route({
      method: route.method,
      url: route.path.replace(/\{(\w+)\}/g, ':$1'),
      handler: (request, reply) => serve(route, handler, dependencies, request, reply),
    });
  }
}

async function serve(
  route: RouteDefinition,
  handler: Handler<RouteDefinition>,
  { services, rateLimiter }: BindingDependencies,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const caller = await services.auth.authenticate(presentedKey(request));
  rateLimiter.check(caller.keyId);
  if (route.scope !== null && !hasScope(caller, route.scope)) {
    const accepted = acceptedScopes(route.scope);
    throw new RunyardError(
      'PERMISSION_DENIED',
      `this API key lacks the ${describeScopes(route.scope)} scope`,
      {
        // The first scope that would do; `acceptedScopes` lists every one when the route takes several.
        requiredScope: accepted[0],
        ...(accepted.length > 1 && { acceptedScopes: accepted }),
        scopes: caller.scopes,
      },
    );
  }
  const params = route.params === undefined ? {} : parseOrThrow(route.params, request.params, 'path');
  const query = parseOrThrow(route.query ?? noQuery, request.query ?? {}, 'query');
  const body = route.body === undefined ? undefined : parseOrThrow(route.body, request.body, 'body');
  const ifMatch = headerValue(request, 'if-match');
  const lastEventId = headerValue(request, 'last-event-id');
  // The response closing before it was all written means the client went away. (The request's own
  // 'close' fires as soon as its body has been read, so it says nothing about the client.) A
  // response that ended normally aborts nothing: an abort costs an AbortError and its listeners.
  const disconnected = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) disconnected.abort();
  });
  let events: AsyncIterable<RunEvent> | undefined;
  const execute = async () => {
    const result = await handler({
      caller,
      params,
      query,
      body,
      ifMatch,
      lastEventId,
      signal: disconnected.signal,
    });
    events = result.events;
    return { status: result.status ?? route.status, body: result.body, headers: result.headers };
  };

  const idempotencyKey = headerValue(request, 'idempotency-key');
  if (route.method === 'POST' && idempotencyKey !== undefined) {
    const outcome = await services.idempotency.run(
      caller.workspaceId,
      idempotencyKey,
      { method: route.method, path: request.url, body: request.body ?? null },
      async () => {
        const result = await execute();
        return { status: result.status, body: result.body };
      },
    );
    if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
    if (events !== undefined) return sendEventStream(reply, events, disconnected.signal);
    return send(reply, outcome.status, outcome.body, undefined);
  }
  const result = await execute();
  if (events !== undefined) return sendEventStream(reply, events, disconnected.signal, result.headers);
  const headers = route.binary === true ? { ...downloadHeaders, ...result.headers } : result.headers;
  return send(reply, result.status, result.body, headers);
}

/**
 * A binary route serves bytes from elsewhere (a tool's upstream, kept as an artifact): a download,
 * never a page rendered (or sniffed into one) on the API's origin.
 */
const downloadHeaders = {
  'content-disposition': 'attachment',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
};

/** Routes without query parameters reject any, like unknown body fields. */
const noQuery = z.strictObject({});

function send(
  reply: FastifyReply,
  status: number,
  body: unknown,
  headers: Record<string, string> | undefined,
): FastifyReply {
  if (headers !== undefined) void reply.headers(headers);
  if (status === 204 || body === undefined) return reply.code(status).send();
  return reply.code(status).send(body);
}

function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = headerValue(request, 'authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? '';
  }
  return headerValue(request, 'x-api-key');
}
