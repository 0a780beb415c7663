import type { FastifyRequest } from 'fastify';
import type { Scope } from '@runyard/protocol';
import { hasScope, type Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { RunyardError, invalidField, notFound } from '../../../shared/errors.ts';
import { isUuidShaped, uuidToId } from '../../../shared/id-uuid-codec.ts';

/** The caller and the team (workspace) a Make request acts in. */
export interface MakeContext {
  caller: Caller;
  teamId: number;
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Make sends `Authorization: Token <key>`; `Bearer <key>` and `x-api-key` work too. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = headerValue(request, 'authorization');
  if (authorization !== undefined) return /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(authorization)?.[1];
  return headerValue(request, 'x-api-key');
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
 * Authenticates, checks the scope, and checks that `teamId` is the key's own workspace. Another
 * team's id answers 404 exactly like a team that does not exist: nothing about other teams leaks.
 */
export async function makeContext(
  services: Services,
  request: FastifyRequest,
  scope: Scope,
): Promise<MakeContext> {
  const key = presentedKey(request);
  if (key === undefined || key === '') {
    throw new RunyardError('UNAUTHENTICATED', 'send your API key as "Authorization: Token <key>"');
  }
  const caller = await services.auth.authenticate(key);
  if (!hasScope(caller, scope)) {
    throw new RunyardError('PERMISSION_DENIED', `this API key lacks the '${scope}' scope`, {
      requiredScope: scope,
    });
  }
  const teamId = teamIdOf(request);
  const workspace = await services.workspaces.get(caller, caller.workspaceId);
  if (workspace.teamId !== teamId) throw notFound('team', String(teamId));
  return { caller, teamId };
}

/** A body field `teamId`, when sent, must name the same team as the query. */
export function assertSameTeam(context: MakeContext, bodyTeamId: number | undefined): void {
  if (bodyTeamId !== undefined && bodyTeamId !== context.teamId) {
    throw invalidField('teamId', `must equal the teamId query parameter (${context.teamId})`);
  }
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

/** Make names agents by uuid; our own `agt_…` ids (and slugs) are accepted as they are. */
export function agentReference(agentId: string): string {
  return isUuidShaped(agentId) ? (uuidToId('agent', agentId) ?? agentId) : agentId;
}
