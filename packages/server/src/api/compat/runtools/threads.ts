import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { metadataSchema, type Thread } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { runtoolsFieldsOf } from './agent-fields.ts';
import { unlessNotFound } from '../compat-routes.ts';
import { addRoute } from './routing.ts';
import { threadEventPage } from './thread-events.ts';

/** Thread metadata key holding what runtools has and Runyard's thread has not (`archived`). */
const metadataKey = 'runtools';

const threadStateSchema = z.object({ archived: z.boolean() });

const booleanQuery = z.enum(['true', 'false']).transform((value) => value === 'true');

const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional(),
  archived: booleanQuery.default(false),
  all: booleanQuery.optional(),
});

const eventsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(300).optional(),
  include: z.literal('all_rollouts').optional(),
});

const threadParamsSchema = z.strictObject({ threadId: z.string().min(1).max(200) });

const userMetadataSchema = metadataSchema.refine(
  (value) => !Object.hasOwn(value, metadataKey),
  `must not use the key '${metadataKey}' (reserved for this surface)`,
);

const createBodySchema = z.strictObject({
  title: z.string().trim().min(1).max(500).optional(),
  metadata: userMetadataSchema.optional(),
});

const updateBodySchema = z.strictObject({
  title: z.string().trim().min(1).max(500).nullable().optional(),
  archived: z.boolean().optional(),
  metadata: userMetadataSchema.optional(),
});

export function registerThreadRoutes(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'listThreads',
    handler: async ({ caller, request }) => {
      const query = parseOrThrow(listQuerySchema, request.query ?? {}, 'query');
      const page = await services.threads.list(caller, { limit: query.limit, cursor: query.cursor });
      // Archived threads are left out of the page unless asked for: a page may then hold fewer than
      // `limit`, and the cursor still continues exactly after it.
      const shown = page.data.filter((thread) => query.archived || !isArchived(thread));
      return {
        body: {
          data: {
            threads: await Promise.all(shown.map((thread) => toRuntoolsThread(services, caller, thread))),
          },
          hasMore: page.nextCursor !== null,
          nextCursor: page.nextCursor,
        },
      };
    },
  });

  addRoute(app, services, {
    operationId: 'createThread',
    handler: async ({ caller, request }) => {
      const body = parseOrThrow(createBodySchema, request.body ?? {}, 'body');
      const thread = await services.threads.create(caller, body);
      return { status: 201, body: { data: { thread: await toRuntoolsThread(services, caller, thread) } } };
    },
  });

  // The snapshot and the event history answer alike: the thread and a page of its events.
  for (const operationId of ['getThread', 'listThreadEvents'] as const) {
    addRoute(app, services, {
      operationId,
      handler: async ({ caller, request }) => {
        const { threadId } = parseOrThrow(threadParamsSchema, request.params, 'path');
        const query = parseOrThrow(eventsQuerySchema, request.query ?? {}, 'query');
        const thread = await services.threads.get(caller, threadId);
        const page = await threadEventPage(services, caller, threadId, query);
        return {
          body: {
            data: { thread: await toRuntoolsThread(services, caller, thread), events: page.events },
            hasMore: page.hasMore,
            nextCursor: page.nextCursor,
          },
        };
      },
    });
  }

  addRoute(app, services, {
    operationId: 'updateThread',
    handler: async ({ caller, request }) => {
      const { threadId } = parseOrThrow(threadParamsSchema, request.params, 'path');
      const body = parseOrThrow(updateBodySchema, request.body, 'body');
      const current = await services.threads.get(caller, threadId);
      const touchesMetadata = body.metadata !== undefined || body.archived !== undefined;
      const archived = body.archived ?? isArchived(current);
      const thread = await services.threads.update(caller, threadId, {
        ...(body.title !== undefined && { title: body.title }),
        ...(touchesMetadata && {
          metadata: {
            ...(body.metadata ?? userMetadata(current)),
            ...(archived && { [metadataKey]: { archived } }),
          },
        }),
      });
      return { body: { data: { thread: await toRuntoolsThread(services, caller, thread) } } };
    },
  });

  addRoute(app, services, {
    operationId: 'deleteThread',
    handler: async ({ caller, request }) => {
      const { threadId } = parseOrThrow(threadParamsSchema, request.params, 'path');
      await services.threads.delete(caller, threadId);
      return { body: { data: { id: threadId, deleted: true } } };
    },
  });
}

function isArchived(thread: Thread): boolean {
  const state = threadStateSchema.safeParse(thread.metadata[metadataKey]);
  return state.success && state.data.archived;
}

function userMetadata(thread: Thread): Record<string, unknown> {
  const { [metadataKey]: _state, ...rest } = thread.metadata;
  return rest;
}

/**
 * A thread as runtools shows it. Runyard's threads belong to no agent: `agentId` and
 * `executionMode` are those of the thread's latest run's agent (null before the first run, or
 * when that agent is deleted).
 */
async function toRuntoolsThread(services: Services, caller: Caller, thread: Thread) {
  const latest = (await services.runs.list(caller, { thread: thread.id, limit: 1 })).data[0];
  let executionMode: string | null = null;
  if (latest !== undefined) {
    const agent = await unlessNotFound(services.agents.get(caller, latest.agentId));
    if (agent !== undefined) executionMode = runtoolsFieldsOf(agent).executionMode;
  }
  return {
    id: thread.id,
    orgId: caller.workspaceId,
    ownerUserId: null,
    agentId: latest?.agentId ?? null,
    title: thread.title,
    executionMode,
    archived: isArchived(thread),
    activeRolloutId: null,
    metadata: userMetadata(thread),
    createdAt: thread.createdAt,
    updatedAt: thread.updatedAt,
  };
}
