import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isFinalRunStatus, isId, type Run, type RunMode } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { makeRunError, makeRunResult, type MakeRunResult } from '../../../engine/callback-bodies.ts';
import { RunyardError } from '../../../shared/errors.ts';
import { idToUuid, isUuidShaped, uuidToId } from '../../../shared/id-uuid-codec.ts';
import { parseOrThrow } from '../../validation.ts';
import { MakeError, runFailureStatus } from './make-errors.ts';
import { addRoute, agentReference, unlessNotFound } from './make-request.ts';
import { runMakeAgentSchema } from './make-schemas.ts';
import { makeSteps, sendMakeSteps } from './step-stream.ts';

interface AgentParams {
  agentId: string;
}

/** Our thread for a Make `threadId`, and the string to answer with (the client's own, if any). */
interface ResolvedThread {
  threadId: string | undefined;
  clientThreadId: string | undefined;
}

/**
 * A `threadId` that is one of our threads (as a uuid we answered with before, or as `thr_…`) is
 * that thread; any other string is a name the client chose, mapped to a thread of its own.
 */
async function resolveThread(
  services: Services,
  caller: Caller,
  threadId: string | undefined,
): Promise<ResolvedThread> {
  if (threadId === undefined) return { threadId: undefined, clientThreadId: undefined };
  const own = isUuidShaped(threadId)
    ? uuidToId('thread', threadId)
    : isId('thread', threadId)
      ? threadId
      : undefined;
  if (own !== undefined) {
    const exists = (await unlessNotFound(services.threads.get(caller, own))) !== undefined;
    if (exists) return { threadId: own, clientThreadId: threadId };
  }
  return {
    threadId: await services.threads.resolveExternal(caller, 'make', threadId),
    clientThreadId: threadId,
  };
}

/** Closed when the client goes away: waiting or streaming stops, the run goes on. */
function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => controller.abort());
  return controller.signal;
}

/**
 * Starts the run on the agent's newest version: a Make agent has no environments, so every
 * write is live at once (`environment: 'draft'`).
 */
async function startRun(
  services: Services,
  caller: Caller,
  request: FastifyRequest<{ Params: AgentParams }>,
  mode: RunMode,
): Promise<{ caller: Caller; run: Run; threadId: string; hasCallback: boolean }> {
  const body = parseOrThrow(runMakeAgentSchema, request.body ?? {}, 'body');
  // The agent first: an unknown agent must not leave a new thread behind.
  const agent = await services.agents.get(caller, agentReference(request.params.agentId));
  const thread = await resolveThread(services, caller, body.threadId);
  const hasCallback = body.callbackUrl !== undefined;
  const run = await services.runs.create(
    caller,
    agent.id,
    {
      input: body.messages,
      threadId: thread.threadId,
      environment: 'draft',
      mode: hasCallback ? 'background' : mode,
      onConflict: 'enqueue',
      callbackUrl: body.callbackUrl,
    },
    hasCallback
      ? {
          callbackBody: {
            format: 'make',
            ...(thread.clientThreadId !== undefined && { threadId: thread.clientThreadId }),
          },
        }
      : {},
  );
  const threadId = thread.clientThreadId ?? (run.threadId === null ? '' : idToUuid(run.threadId));
  return { caller, run, threadId, hasCallback };
}

export function registerRunRoutes(instance: FastifyInstance, services: Services): void {
  addRoute<AgentParams>(
    instance,
    services,
    'runAgent',
    async ({ caller: key, request, reply }): Promise<MakeRunResult> => {
      const signal = disconnectSignal(reply);
      const { caller, run, threadId, hasCallback } = await startRun(services, key, request, 'wait');
      // With a callback the result is POSTed there when the run ends; the answer comes at once.
      if (hasCallback) return { response: '', threadId, lastAgentIterationId: idToUuid(run.id) };
      const ended = await services.runs.waitForEnd(caller, run.id, signal);
      if (ended.status === 'succeeded') return makeRunResult(ended, threadId);
      if (!isFinalRunStatus(ended.status)) {
        throw new RunyardError('SERVICE_UNAVAILABLE', 'stopped waiting for the run before it ended');
      }
      throw new MakeError(runFailureStatus(ended.error?.code ?? 'INTERNAL_ERROR'), {
        ...makeRunError(ended),
        threadId,
        lastAgentIterationId: idToUuid(ended.id),
      });
    },
  );

  addRoute<AgentParams>(
    instance,
    services,
    'runAgentStream',
    async ({ caller: key, request, reply }): Promise<FastifyReply> => {
      const signal = disconnectSignal(reply);
      const { caller, run, threadId } = await startRun(services, key, request, 'stream');
      const version = await services.agents.getVersion(caller, run.agentId, run.agentVersion);
      const events = await services.runs.stream(caller, run.id, 0, signal);
      return sendMakeSteps(
        reply,
        makeSteps(events, { runId: run.id, instructions: version.config.instructions, input: run.input }),
        signal,
        {
          'x-agent-iteration-id': idToUuid(run.id),
          // A client's own thread name may hold characters a header cannot carry.
          ...(/^[\x21-\x7e]+$/.test(threadId) && { 'x-thread-id': threadId }),
        },
      );
    },
  );
}
