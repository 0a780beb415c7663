import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { invalidField, notFound } from '../../../shared/errors.ts';
import { isUuidShaped, uuidToId } from '../../../shared/id-uuid-codec.ts';
import { compatRouteBinder, presentedCompatKey } from '../compat-routes.ts';
import { makeSurface } from './make-surface.ts';

/** The caller and the team (workspace) a Make request acts in. */
export interface MakeContext {
  caller: Caller;
  teamId: number;
}

/**
 * The key the request authenticated with (Make's callbacks are signed with a secret derived from
 * it); only called once the surface has authenticated the request, so it is there.
 */
export function presentedKey(request: FastifyRequest): string {
  return presentedCompatKey(makeSurface, request);
}

/** `teamId` is required on every route and must be a positive integer. */
function teamIdOf(request: FastifyRequest): number {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const raw = Array.isArray(query.teamId) ? (query.teamId as unknown[])[0] : query.teamId;
  if (raw === undefined || raw === '') throw invalidField('teamId', 'is a required query parameter');
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,14}$/.test(raw)) {
    throw invalidField('teamId', 'must be a positive integer');
  }
  return Number(raw);
}

/**
 * The team a keyed request acts in, once the key is known and has the scope: `teamId` must be the
 * key's own workspace. Another team's id answers 404 exactly like a team that does not exist:
 * nothing about other teams leaks.
 */
async function resolveTeam(
  services: Services,
  caller: Caller,
  request: FastifyRequest,
): Promise<{ teamId: number }> {
  const teamId = teamIdOf(request);
  const workspace = await services.workspaces.get(caller, caller.workspaceId);
  if (workspace.teamId !== teamId) throw notFound('team', String(teamId));
  return { teamId };
}

/** What a Make handler is given: the caller, its team, and the request and reply. */
export interface MakeRouteContext<Params> extends MakeContext {
  request: FastifyRequest<{ Params: Params }>;
  reply: FastifyReply;
}

const bindOperation = compatRouteBinder(makeSurface, resolveTeam);

/**
 * Binds one operation of make-surface.ts to its handler through the compat route builder (Token,
 * Bearer or x-api-key; the operation's scope; the team; then the handler). The handler answers
 * with the body to send (200), or with the reply it sent itself.
 */
export function addRoute<Params = unknown>(
  instance: FastifyInstance,
  services: Services,
  operationId: keyof typeof makeSurface.operations,
  handler: (context: MakeRouteContext<Params>) => Promise<unknown>,
): void {
  bindOperation(instance, services, {
    operationId,
    handler: async (context) => {
      const result = await handler(context as unknown as MakeRouteContext<Params>);
      return result === context.reply ? { answered: context.reply } : { body: result };
    },
  });
}

/** A body field `teamId`, when sent, must name the same team as the query. */
export function assertSameTeam(context: MakeContext, bodyTeamId: number | undefined): void {
  if (bodyTeamId !== undefined && bodyTeamId !== context.teamId) {
    throw invalidField('teamId', `must equal the teamId query parameter (${context.teamId})`);
  }
}

/** Make names agents by uuid; our own `agt_…` ids (and slugs) are accepted as they are. */
export function agentReference(agentId: string): string {
  return isUuidShaped(agentId) ? (uuidToId('agent', agentId) ?? agentId) : agentId;
}
