import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { metadataSchema, type Agent, type InputMessage } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { RunCreateOptions } from '../../../core/runs-service.ts';
import { hasErrorCode } from '../../../shared/errors.ts';
import { retryOnConflict } from '../../../shared/retry-on-conflict.ts';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { metadataWith, runtoolsFieldsOf, type RuntoolsFields } from './agent-fields.ts';
import { resolveModelReference, unservedModelAdvice } from './models.ts';
import { RuntoolsError } from './errors.ts';
import { addRoute, type RouteContext, type RouteResult } from './routing.ts';
import { toRuntoolsRun } from './run-view.ts';
import { sendRuntoolsStream } from './stream.ts';

const textPartSchema = z.strictObject({ type: z.literal('text'), text: z.string().max(1_000_000) });

const messageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  /** A string, or text parts (joined). */
  content: z.union([z.string().max(1_000_000), z.array(textPartSchema).min(1).max(100)]),
});

const configSchema = z.strictObject({
  /** Output tokens per model call, like the agent's maxTokens. */
  maxTokens: z.number().int().min(1).max(1_000_000).optional(),
  maxTurns: z.number().int().min(1).max(1000).optional(),
  temperature: z.number().min(0).max(2).optional(),
});

const runFields = {
  prompt: z.string().min(1).max(1_000_000).optional(),
  messages: z.array(messageSchema).min(1).max(1000).optional(),
  threadId: z.string().min(1).max(200).nullish(),
  stream: z.boolean().default(true),
  config: configSchema.nullish(),
  metadata: metadataSchema.nullish(),
};

const needsInput = (body: { prompt?: string | undefined; messages?: unknown[] | undefined }) =>
  body.prompt !== undefined || body.messages !== undefined;
const inputRequired = { message: 'either prompt or messages is required', path: ['prompt'] };

/** `POST /v1/run`: the canonical run endpoint; `agent` is a slug or an id. */
const runBodySchema = z
  .strictObject({ agent: z.string().min(1).max(200), ...runFields })
  .refine(needsInput, inputRequired);

/** `POST /v1/agents/{slug}/run`: the legacy per-agent endpoint; `agent`, when sent, must name the same agent. */
const agentRunBodySchema = z
  .strictObject({ agent: z.string().min(1).max(200).optional(), ...runFields })
  .refine(needsInput, inputRequired);

type RunBody = z.infer<typeof runBodySchema>;

const slugParamsSchema = z.strictObject({ slug: z.string().min(1).max(200) });

export function registerRunRoutes(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'run',
    handler: async (context) => {
      const body = parseOrThrow(runBodySchema, context.request.body, 'body');
      return startRun(services, context, body.agent, body);
    },
  });

  addRoute(app, services, {
    operationId: 'runAgent',
    handler: async (context) => {
      const { slug } = parseOrThrow(slugParamsSchema, context.request.params, 'path');
      const body = parseOrThrow(agentRunBodySchema, context.request.body, 'body');
      if (body.agent !== undefined && body.agent !== slug) {
        const agent = await services.agents.get(context.caller, slug);
        if (body.agent !== agent.id) {
          throw new RuntoolsError(
            400,
            'bad_request',
            `agent: must name the agent in the path ('${slug}') when given`,
          );
        }
      }
      return startRun(services, context, slug, { ...body, agent: slug });
    },
  });
}

/**
 * Delegates to the runs service: the agent's newest version (`environment: draft`, as runtools
 * runs what was last upserted), wait (`stream: false`) or stream (default). `messages` are
 * caller-managed history: without a threadId such a run keeps no thread (stateless). A `prompt`
 * without a threadId starts a new thread.
 */
async function startRun(
  services: Services,
  { caller, request, reply }: RouteContext,
  agentReference: string,
  body: RunBody,
): Promise<RouteResult> {
  const agent = await services.agents.get(caller, agentReference);
  const fields = runtoolsFieldsOf(agent);
  // Refused before anything is recorded: the sandbox or device first, then the model.
  if (fields.executionMode === 'in_sandbox') {
    throw new RuntoolsError(
      422,
      'sandbox_unavailable',
      `agent '${agent.slug}' runs in_sandbox (sandbox '${fields.sandbox ?? ''}'), and sandboxes are not available on this server yet; upsert it with "executionMode": "managed" to run it here`,
      { executionMode: fields.executionMode, sandbox: fields.sandbox },
    );
  }
  if (fields.executionMode === 'local-mac') {
    throw new RuntoolsError(
      422,
      'device_unavailable',
      `agent '${agent.slug}' runs on a local Mac (local-mac), which this server cannot reach; upsert it with "executionMode": "managed" to run it here`,
      { executionMode: fields.executionMode, targetDeviceId: fields.targetDeviceId },
    );
  }
  const runnable = await withServedModel(services, caller, agent, fields);
  const input: InputMessage[] = [
    ...(body.messages ?? []).map((message) => ({
      role: message.role,
      content:
        typeof message.content === 'string'
          ? message.content
          : message.content.map((part) => part.text).join(''),
    })),
    ...(body.prompt === undefined ? [] : [{ role: 'user' as const, content: body.prompt }]),
  ];
  const threadId = body.threadId ?? undefined;
  const disconnected = new AbortController();
  request.raw.once('close', () => disconnected.abort());
  reply.raw.once('close', () => disconnected.abort());
  const run = await services.runs.create(
    caller,
    runnable.id,
    {
      input,
      threadId,
      stateless: body.messages !== undefined && threadId === undefined,
      environment: 'draft',
      mode: body.stream ? 'stream' : 'wait',
      metadata: body.metadata ?? undefined,
      onConflict: 'enqueue',
    },
    { settings: settingsOf(body.config) },
  );
  const headers = { 'x-run-id': run.id, ...(run.threadId !== null && { 'x-thread-id': run.threadId }) };
  if (body.stream) {
    const events = await services.runs.stream(caller, run.id, 0, disconnected.signal);
    return { answered: await sendRuntoolsStream(reply, events, disconnected.signal, headers) };
  }
  const ended = await services.runs.waitForEnd(caller, run.id, disconnected.signal);
  void reply.headers(headers);
  return { body: { data: toRuntoolsRun(ended, fields) } };
}

/** Attempts at bringing an agent's model up to date while other writers change the agent. */
const maxModelUpdateAttempts = 5;

/**
 * An agent upserted with a model no provider served: resolved again now. Still unserved, the run
 * is refused at once, saying which provider to add (422 `model_unavailable`); served by now, the
 * agent takes the provider's model (a new version, as the upsert would have made) and runs.
 */
async function withServedModel(
  services: Services,
  caller: Caller,
  agent: Agent,
  fields: RuntoolsFields,
): Promise<Agent> {
  let current = agent;
  return retryOnConflict(
    { maxAttempts: maxModelUpdateAttempts, lostRace: (error) => hasErrorCode(error, 'PRECONDITION_FAILED') },
    async (attemptNumber) => {
      // Another writer changed the agent since it was read: look at it afresh.
      if (attemptNumber > 1) current = await services.agents.get(caller, current.id);
      const currentFields = attemptNumber > 1 ? runtoolsFieldsOf(current) : fields;
      if (currentFields.unservedModelKind === null || currentFields.unservedModelKind === undefined) {
        return current;
      }
      const resolved = await resolveModelReference(services, caller, currentFields.model ?? undefined);
      if (resolved.unserved !== undefined) {
        throw new RuntoolsError(
          422,
          'model_unavailable',
          `agent '${current.slug}' uses model '${resolved.unserved.model}', and ${unservedModelAdvice(resolved.unserved)}`,
          { model: resolved.unserved.model, providerKind: resolved.unserved.kind },
        );
      }
      return services.agents.update(
        caller,
        current.id,
        {
          model: resolved.reference,
          metadata: metadataWith(current.metadata, { ...currentFields, unservedModelKind: null }),
        },
        current.etag,
      );
    },
  );
}

function settingsOf(config: RunBody['config']): RunCreateOptions['settings'] {
  if (config === undefined || config === null) return undefined;
  return {
    ...(config.maxTokens !== undefined && { maxOutputTokens: config.maxTokens }),
    ...(config.maxTurns !== undefined && { maxIterations: config.maxTurns }),
    ...(config.temperature !== undefined && { temperature: config.temperature }),
  };
}
