import { z } from 'zod';
import { defineCompatSurface } from '../compat-routes.ts';

/**
 * `:agentId` (a uuid, an `agt_` id or a slug), checked before any handler: text a database cannot
 * store (U+0000, unpaired surrogates) is a 400, never a failed query.
 */
const agentParams = z.strictObject({ agentId: z.string().min(1).max(200) });

/**
 * The make surface, declared: Make's "AI Agents" API, its key styles and every operation once.
 * The handlers are bound by operationId in agent-routes.ts and run-routes.ts; docs/compat/make.md
 * documents them.
 */
export const makeSurface = defineCompatSurface({
  name: 'make',
  prefix: '/compat/make',
  // Make sends `Authorization: Token <key>`; `Bearer <key>` and `x-api-key` work too.
  auth: ['token', 'bearer', 'x-api-key'],
  operations: {
    listAgents: { method: 'GET', url: '/ai-agents/v1/agents', scope: 'read' },
    createAgent: { method: 'POST', url: '/ai-agents/v1/agents', scope: 'write' },
    getAgent: { method: 'GET', url: '/ai-agents/v1/agents/:agentId', scope: 'read', params: agentParams },
    updateAgent: {
      method: 'PATCH',
      url: '/ai-agents/v1/agents/:agentId',
      scope: 'write',
      params: agentParams,
    },
    deleteAgent: {
      method: 'DELETE',
      url: '/ai-agents/v1/agents/:agentId',
      scope: 'write',
      params: agentParams,
    },
    runAgent: { method: 'POST', url: '/ai-agents/v1/agents/:agentId/run', scope: 'run', params: agentParams },
    runAgentStream: {
      method: 'POST',
      url: '/ai-agents/v1/agents/:agentId/run/stream',
      scope: 'run',
      params: agentParams,
    },
  },
});
