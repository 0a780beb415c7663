import { defineCompatSurface } from '../compat-routes.ts';

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
    getAgent: { method: 'GET', url: '/ai-agents/v1/agents/:agentId', scope: 'read' },
    updateAgent: { method: 'PATCH', url: '/ai-agents/v1/agents/:agentId', scope: 'write' },
    deleteAgent: { method: 'DELETE', url: '/ai-agents/v1/agents/:agentId', scope: 'write' },
    runAgent: { method: 'POST', url: '/ai-agents/v1/agents/:agentId/run', scope: 'run' },
    runAgentStream: { method: 'POST', url: '/ai-agents/v1/agents/:agentId/run/stream', scope: 'run' },
  },
});
