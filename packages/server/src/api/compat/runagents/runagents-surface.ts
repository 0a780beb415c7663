import { defineCompatSurface } from '../compat-routes.ts';

/**
 * The runagents surface, declared: its key style and every operation once. The handlers are bound
 * by operationId in the *-routes.ts modules, deploy.ts and starter-kit.ts; docs/compat/runagents.md
 * documents them.
 */
export const runagentsSurface = defineCompatSurface({
  name: 'runagents',
  prefix: '/compat/runagents',
  // runagents sends `Authorization: Bearer <key>` and nothing else.
  auth: ['bearer'],
  operations: {
    runStarterKit: { method: 'POST', url: '/api/starter-kit', scope: 'write' },
    // The echo service behind the starter kit's echo-tool (which calls `/echo/`): open on purpose.
    echo: { method: 'POST', url: '/echo', public: true },
    echoWithSlash: { method: 'POST', url: '/echo/', public: true },
    listTools: { method: 'GET', url: '/api/tools', scope: 'read' },
    createTool: { method: 'POST', url: '/api/tools', scope: 'write' },
    listModelProviders: { method: 'GET', url: '/api/model-providers', scope: 'read' },
    createModelProvider: { method: 'POST', url: '/api/model-providers', scope: 'write' },
    listPolicies: { method: 'GET', url: '/api/policies', scope: 'read' },
    createPolicy: { method: 'POST', url: '/api/policies', scope: 'write' },
    listAgents: { method: 'GET', url: '/api/agents', scope: 'read' },
    getAgent: { method: 'GET', url: '/api/agents/:namespace/:name', scope: 'read' },
    deleteAgent: { method: 'DELETE', url: '/api/agents/:namespace/:name', scope: 'write' },
    deploy: { method: 'POST', url: '/api/deploy', scope: 'write' },
    createRun: { method: 'POST', url: '/runs', scope: 'run' },
    listRuns: { method: 'GET', url: '/runs', scope: 'read' },
    getRun: { method: 'GET', url: '/runs/:id', scope: 'read' },
    listRunEvents: { method: 'GET', url: '/runs/:id/events', scope: 'read' },
    approveRun: { method: 'POST', url: '/runs/:id/approve', scope: 'run' },
    denyRun: { method: 'POST', url: '/runs/:id/deny', scope: 'run' },
  },
});
