import { defineCompatSurface } from '../compat-routes.ts';

/**
 * The runtools surface, declared: its key styles and every operation once. The handlers are
 * bound by operationId in agents.ts, runs.ts and threads.ts; docs/compat/runtools.md documents them.
 */
export const runtoolsSurface = defineCompatSurface({
  name: 'runtools',
  prefix: '/compat/runtools',
  // runtools sends API keys as `X-API-Key`; `Authorization: Bearer` is accepted too (and wins).
  auth: ['x-api-key', 'bearer'],
  operations: {
    upsertAgent: { method: 'POST', url: '/v1/agents', scope: 'write' },
    listAgents: { method: 'GET', url: '/v1/agents', scope: 'read' },
    getAgent: { method: 'GET', url: '/v1/agents/:slug', scope: 'read' },
    deleteAgent: { method: 'DELETE', url: '/v1/agents/:slug', scope: 'write' },
    run: { method: 'POST', url: '/v1/run', scope: 'run' },
    runAgent: { method: 'POST', url: '/v1/agents/:slug/run', scope: 'run' },
    listThreads: { method: 'GET', url: '/v1/threads', scope: 'read' },
    createThread: { method: 'POST', url: '/v1/threads', scope: 'write' },
    getThread: { method: 'GET', url: '/v1/threads/:threadId', scope: 'read' },
    listThreadEvents: { method: 'GET', url: '/v1/threads/:threadId/events', scope: 'read' },
    updateThread: { method: 'PATCH', url: '/v1/threads/:threadId', scope: 'write' },
    deleteThread: { method: 'DELETE', url: '/v1/threads/:threadId', scope: 'write' },
  },
});
