import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isFinalRunStatus, type Run, type RunMode } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import { callbackSecretOfApiKey } from '../../../core/crypto.ts';
import type { Services } from '../../../core/services.ts';
import { RunyardError } from '../../../shared/errors.ts';
import { idToUuid } from '../../../shared/id-uuid-codec.ts';
import { instructionsWithTime } from '../../../shared/instructions-time.ts';
import {
  makeRunError,
  makeRunResult,
  makeThreadId,
  type MakeRunResult,
} from '../../../shared/make-wire-format.ts';
import { parseOrThrow } from '../../validation.ts';
import { agentByClientId, resolveThread } from './client-ids.ts';
import { MakeError, runFailureStatus } from './make-errors.ts';
import { addRoute, presentedKey } from './make-request.ts';
import { runMakeAgentSchema } from './make-schemas.ts';
import { makeSteps, sendMakeSteps } from './step-stream.ts';

interface AgentParams {
  agentId: string;
}

/** Closed when the client goes away: waiting or streaming stops, the run goes on. */
function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => controller.abort());
  return controller.signal;
}

/**
 * Starts the run on the agent's newest version: a Make agent has no environments, so every
 * write is live at once (`environment: 'draft'`). Without `messages` the run's input is empty: the
 * model gets the instructions and the thread's history as it stands (on a new thread, the
 * instructions alone). Like Make's agents, the model gets the run's time after the instructions.
 */
async function startRun(
  services: Services,
  caller: Caller,
  request: FastifyRequest<{ Params: AgentParams }>,
  mode: RunMode,
): Promise<{ caller: Caller; run: Run; threadId: string; hasCallback: boolean }> {
  const body = parseOrThrow(runMakeAgentSchema, request.body ?? {}, 'body');
  // The agent first: an unknown agent must not leave a new thread behind.
  const agent = await agentByClientId(services, caller, request.params.agentId);
  const thread = await resolveThread(services, caller, body.threadId);
  const callbackUrl = body.callbackUrl;
  const hasCallback = callbackUrl !== undefined;
  const run = await services.runs.create(
    caller,
    agent.id,
    {
      input: body.messages ?? [],
      threadId: thread.threadId,
      environment: 'draft',
      mode: hasCallback ? 'background' : mode,
      onConflict: 'enqueue',
      callbackUrl,
      // Signed like every /v1 callback, with a secret the client derives from its own key.
      ...(hasCallback && { callbackSecret: callbackSecretOfApiKey(presentedKey(request) ?? '') }),
    },
    {
      instructionsTime: true,
      ...(hasCallback && {
        callbackBody: {
          format: 'make',
          ...(thread.answerThreadId !== undefined && { threadId: thread.answerThreadId }),
        },
      }),
    },
  );
  return { caller, run, threadId: makeThreadId(run, thread.answerThreadId), hasCallback };
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
        makeSteps(events, {
          runId: run.id,
          instructions: instructionsWithTime(version.config.instructions, run.createdAt),
          input: run.input,
        }),
        signal,
        { 'x-agent-iteration-id': idToUuid(run.id), 'x-thread-id': threadId },
      );
    },
  );
}
