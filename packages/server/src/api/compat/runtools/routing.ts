import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '@runyard/protocol';
import { hasScope, type Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { RunyardError } from '../../../shared/errors.ts';

export interface RouteContext {
  caller: Caller;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** A JSON body to send, or the reply that the handler answered itself (a stream). */
export type RouteResult = { status?: number; body: unknown } | { answered: FastifyReply };

export interface RuntoolsRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  /** The Runyard scope the key needs, like the /v1 route the handler delegates to. */
  scope: Scope;
  handler: (context: RouteContext) => Promise<RouteResult>;
}

/** Registers one route: authenticate (X-API-Key or Bearer), check the scope, then the handler. */
export function addRoute(app: FastifyInstance, services: Services, route: RuntoolsRoute): void {
  app.route({
    method: route.method,
    url: route.url,
    handler: async (request, reply) => {
      const caller = await services.auth.authenticate(presentedKey(request));
      if (!hasScope(caller, route.scope)) {
        throw new RunyardError('PERMISSION_DENIED', `this API key lacks the '${route.scope}' scope`, {
          requiredScope: route.scope,
          scopes: caller.scopes,
        });
      }
      const result = await route.handler({ caller, request, reply });
      if ('answered' in result) return result.answered;
      return reply.code(result.status ?? 200).send(result.body);
    },
  });
}

/** runtools sends API keys as `X-API-Key`; `Authorization: Bearer` is accepted too (and wins). */
function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = headerValue(request, 'authorization');
  if (authorization !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? '';
  return headerValue(request, 'x-api-key');
}

export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
