import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { headerValue } from '../../request-headers.ts';
import { compatRouteBinder, type CompatResult } from '../compat-routes.ts';
import { RunagentsError, badRequest } from './errors.ts';
import { runagentsSurface } from './runagents-surface.ts';

export interface RouteContext {
  caller: Caller;
  /** The namespace the request acts in: always the key's own workspace (see namespaceOf). */
  namespace: string;
  request: FastifyRequest;
  reply: FastifyReply;
}

export type RouteResult = CompatResult;

/**
 * The namespace of a keyed request, once the key is known and has the scope: nothing about
 * namespaces is said to an unknown caller.
 */
async function resolveNamespace(
  services: Services,
  caller: Caller,
  request: FastifyRequest,
): Promise<{ namespace: string }> {
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
      {
        namespace,
      },
    );
  }
  return { namespace };
}

/**
 * Binds one operation of runagents-surface.ts to its handler through the compat route builder
 * (Bearer, the operation's scope, the namespace, then the handler).
 */
export const addRoute = compatRouteBinder(runagentsSurface, resolveNamespace);

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
