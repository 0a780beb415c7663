import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '@runyard/protocol';
import { hasScope, type Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { RunyardError } from '../../../shared/errors.ts';
import { RunagentsError, badRequest } from './errors.ts';

export interface RouteContext {
  caller: Caller;
  /** The namespace the request acts in: always the key's own workspace (see namespaceOf). */
  namespace: string;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteResult {
  status?: number;
  body: unknown;
}

export interface RunagentsRoute {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  /** The Runyard scope the key needs, like the /v1 routes the handler delegates to. */
  scope: Scope;
  handler: (context: RouteContext) => Promise<RouteResult>;
}

/**
 * Registers one route: authenticate (Bearer), check the scope, resolve the namespace, then the
 * handler. Authentication comes first: nothing about namespaces is said to an unknown caller.
 */
export function addRoute(app: FastifyInstance, services: Services, route: RunagentsRoute): void {
  app.route({
    method: route.method,
    url: route.url,
    handler: async (request, reply) => {
      const caller = await services.auth.authenticate(presentedKey(request));
      if (!hasScope(caller, route.scope)) {
        throw new RunyardError('PERMISSION_DENIED', `this API key lacks the '${route.scope}' scope`, {
          requiredScope: route.scope,
        });
      }
      const workspace = await services.workspaces.get(caller, caller.workspaceId);
      const namespace = namespaceOf(workspace);
      const asked = headerValue(request, 'x-workspace-namespace');
      // A key acts in its own workspace only: another namespace in the header is refused (403)
      // rather than silently ignored, so a misconfigured client notices.
      if (asked !== undefined && asked !== '' && asked !== namespace && asked !== workspace.id) {
        throw new RunagentsError(
          403,
          'forbidden',
          `this API key belongs to namespace '${namespace}', not '${asked}'`,
          { namespace },
        );
      }
      const result = await route.handler({ caller, namespace, request, reply });
      return reply.code(result.status ?? 200).send(result.body);
    },
  });
}

/**
 * A workspace's namespace: its name as a DNS label (lower case; every run of other characters
 * becomes one `-`), so the default workspace is `default`. A name with no letter or digit falls
 * back to the workspace id. The id is accepted wherever a namespace is.
 */
export function namespaceOf(workspace: { id: string; name: string }): string {
  const label = workspace.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label === '' ? workspace.id : label;
}

/** A body or path namespace must name the request's namespace (documented: 400 on a mismatch). */
export function assertSameNamespace(context: RouteContext, given: string | undefined, field: string): void {
  if (given === undefined || given === context.namespace || given === context.caller.workspaceId) return;
  throw badRequest(
    `namespace mismatch: ${field} is '${given}' but the workspace header (or the API key) names '${context.namespace}'`,
    { namespace: context.namespace, given },
  );
}

/** runagents sends `Authorization: Bearer <key>`. */
function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = headerValue(request, 'authorization');
  if (authorization === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? '';
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The resource, or undefined when the service answers NOT_FOUND; other failures propagate. */
export async function unlessNotFound<T>(lookup: Promise<T>): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof RunyardError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}
