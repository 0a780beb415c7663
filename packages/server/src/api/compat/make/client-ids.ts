import { isId, type Agent } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { RunyardError, notFound } from '../../../shared/errors.ts';
import { idToUuid, isRfc9562Uuid, isUuidShaped, uuidToId } from '../../../shared/id-uuid-codec.ts';
import { agentReference } from './make-request.ts';
import { unlessNotFound } from '../compat-routes.ts';

/**
 * The ids a Make client sends, as our resources. Every id a Make client is told is an RFC 9562 uuid
 * (shared/id-uuid-codec.ts); an error about an id names the id as the client sent it, never ours.
 */

/** The agent a Make client names (our uuid, or our `agt_…` id or slug); a 404 names its own id. */
export async function agentByClientId(services: Services, caller: Caller, agentId: string): Promise<Agent> {
  try {
    return await services.agents.get(caller, agentReference(agentId));
  } catch (error) {
    if (error instanceof RunyardError && error.code === 'NOT_FOUND') throw notFound('agent', agentId);
    throw error;
  }
}

/** Our thread for a Make `threadId`, and the uuid the client is told. */
export interface ResolvedThread {
  /** Our thread; undefined: the run starts a new one. */
  threadId: string | undefined;
  /** The `threadId` of the answer and the callback; undefined: the new thread's uuid. */
  answerThreadId: string | undefined;
}

/**
 * A `threadId` that is one of our threads (a uuid we answered with, or `thr_…`) is that thread and
 * is answered by its uuid. Any other string is a name the client chose, mapped to a thread of its
 * own (created on first use): a client's own RFC 9562 uuid is answered as it is, any other name
 * (`customer-42`) by the thread's uuid, which reaches the same thread on later calls.
 */
export async function resolveThread(
  services: Services,
  caller: Caller,
  threadId: string | undefined,
): Promise<ResolvedThread> {
  if (threadId === undefined) return { threadId: undefined, answerThreadId: undefined };
  const own = isUuidShaped(threadId)
    ? uuidToId('thread', threadId)
    : isId('thread', threadId)
      ? threadId
      : undefined;
  if (own !== undefined && (await unlessNotFound(services.threads.get(caller, own))) !== undefined) {
    return { threadId: own, answerThreadId: idToUuid(own) };
  }
  const mapped = await services.threads.resolveExternal(caller, 'make', threadId);
  return { threadId: mapped, answerThreadId: isRfc9562Uuid(threadId) ? threadId : idToUuid(mapped) };
}
