import type { Services } from '../../core/services.ts';
import type { CreateAgentRun, RouteDefinition } from '@runyard/protocol';
import type { HandlerInput, HandlerResult, Handlers } from '../bind-routes.ts';

/** Each handler calls one service method and returns; all HTTP concerns live in bind-routes.ts. */
export function v1Handlers({
  workspaces,
  apiKeys,
  secrets,
  providers,
  agents,
  threads,
  runs,
  starterKit,
  tools,
  policies,
  approvals,
}: Services): Handlers {
  /** wait: 200 with the ended run; stream: its event log as SSE; background: 202 at once. */
  const startRun = async (
    input: HandlerInput<RouteDefinition>,
    agent: string,
    body: CreateAgentRun,
  ): Promise<HandlerResult<RouteDefinition>> => {
    const run = await runs.create(input.caller, agent, body);
    const headers = { 'x-run-id': run.id, ...(run.threadId !== null && { 'x-thread-id': run.threadId }) };
    switch (body.mode) {
      case 'background':
        return { status: 202, body: run, headers };
      case 'stream':
        return { body: run, headers, events: await runs.stream(input.caller, run.id, 0, input.signal) };
      case 'wait':
        return { body: await runs.waitForEnd(input.caller, run.id, input.signal), headers };
    }
  };
  const withEtag = <T extends { etag: string }>(agent: T) => ({ body: agent, headers: { etag: agent.etag } });
  return {
    createWorkspace: async ({ caller, body }) => ({ body: await workspaces.create(caller, body.name) }),
    listWorkspaces: async ({ caller, query }) => ({ body: await workspaces.list(caller, query) }),
    getWorkspace: async ({ caller, params }) => ({ body: await workspaces.get(caller, params.workspaceId) }),
    updateWorkspace: async ({ caller, params, body }) => ({
      body: await workspaces.update(caller, params.workspaceId, body),
    }),

    createApiKey: async ({ caller, body }) => ({ body: await apiKeys.create(caller, body) }),
    listApiKeys: async ({ caller, query }) => ({ body: await apiKeys.list(caller, query) }),
    getApiKey: async ({ caller, params }) => ({ body: await apiKeys.get(caller, params.keyId) }),
    revokeApiKey: async ({ caller, params }) => {
      await apiKeys.revoke(caller, params.keyId);
      return {};
    },

    createSecret: async ({ caller, body }) => ({ body: await secrets.create(caller, body) }),
    listSecrets: async ({ caller, query }) => ({ body: await secrets.list(caller, query) }),
    getSecret: async ({ caller, params }) => ({ body: await secrets.get(caller, params.name) }),
    rotateSecret: async ({ caller, params, body }) => ({
      body: await secrets.rotate(caller, params.name, body.value),
    }),
    deleteSecret: async ({ caller, params }) => {
      await secrets.delete(caller, params.name);
      return {};
    },

    createProvider: async ({ caller, body }) => ({ body: await providers.create(caller, body) }),
    listProviders: async ({ caller, query }) => ({ body: await providers.list(caller, query) }),
    getProvider: async ({ caller, params }) => ({ body: await providers.get(caller, params.name) }),
    updateProvider: async ({ caller, params, body }) => ({
      body: await providers.update(caller, params.name, body),
    }),
    deleteProvider: async ({ caller, params }) => {
      await providers.delete(caller, params.name);
      return {};
    },
    testProvider: async ({ caller, params }) => ({ body: await providers.test(caller, params.name) }),

    createAgent: async ({ caller, body }) => withEtag(await agents.create(caller, body)),
    listAgents: async ({ caller, query }) => ({ body: await agents.list(caller, query) }),
    getAgent: async ({ caller, params }) => withEtag(await agents.get(caller, params.idOrSlug)),
    updateAgent: async ({ caller, params, body, ifMatch }) =>
      withEtag(await agents.update(caller, params.idOrSlug, body, ifMatch)),
    upsertAgent: async ({ caller, params, body, ifMatch }) => {
      const result = await agents.upsert(caller, params.slug, body, ifMatch);
      return {
        status: result.action === 'created' ? 201 : 200,
        body: result,
        headers: { etag: result.agent.etag },
      };
    },
    deleteAgent: async ({ caller, params, ifMatch }) => {
      await agents.delete(caller, params.idOrSlug, ifMatch);
      return {};
    },
    listAgentVersions: async ({ caller, params }) => ({
      body: { data: await agents.listVersions(caller, params.idOrSlug) },
    }),
    getAgentVersion: async ({ caller, params }) => ({
      body: await agents.getVersion(caller, params.idOrSlug, params.version),
    }),
    diffAgentVersions: async ({ caller, params, query }) => ({
      body: await agents.diff(caller, params.idOrSlug, query.from, query.to),
    }),
    promoteAgent: async ({ caller, params, body }) =>
      withEtag(await agents.promote(caller, params.idOrSlug, body)),

    createThread: async ({ caller, body }) => ({ body: await threads.create(caller, body) }),
    listThreads: async ({ caller, query }) => ({ body: await threads.list(caller, query) }),
    getThread: async ({ caller, params }) => ({ body: await threads.get(caller, params.threadId) }),
    updateThread: async ({ caller, params, body }) => ({
      body: await threads.update(caller, params.threadId, body),
    }),
    deleteThread: async ({ caller, params }) => {
      await threads.delete(caller, params.threadId);
      return {};
    },
    listThreadMessages: async ({ caller, params, query }) => ({
      body: await threads.messages(caller, params.threadId, query),
    }),

    createAgentRun: async (input) => startRun(input, input.params.idOrSlug, input.body),
    createRun: async (input) => {
      const { agent, ...body } = input.body;
      return startRun(input, agent, body);
    },
    listRuns: async ({ caller, query }) => ({ body: await runs.list(caller, query) }),
    getRun: async ({ caller, params }) => ({ body: await runs.get(caller, params.runId) }),
    cancelRun: async ({ caller, params }) => ({ body: await runs.cancel(caller, params.runId) }),
    listRunEvents: async ({ caller, params, query }) => ({
      body: { data: await runs.events(caller, params.runId, query.after, query.limit) },
    }),
    streamRun: async ({ caller, params, query, lastEventId, signal }) => {
      const fromHeader = lastEventId === undefined ? Number.NaN : Number.parseInt(lastEventId, 10);
      const after = Number.isInteger(fromHeader) && fromHeader >= 0 ? fromHeader : (query.after ?? 0);
      return { events: await runs.stream(caller, params.runId, after, signal) };
    },
    listRunDeliveries: async ({ caller, params }) => ({
      body: { data: await runs.deliveries(caller, params.runId) },
    }),
    listRunArtifacts: async ({ caller, params }) => ({
      body: { data: await runs.artifacts(caller, params.runId) },
    }),
    getRunArtifact: async ({ caller, params }) => {
      const { artifact, content } = await runs.artifact(caller, params.runId, params.artifactId);
      return {
        body: content,
        headers: {
          'content-type': artifact.contentType,
          'content-disposition': `attachment; filename="${artifact.id}"`,
        },
      };
    },

    createTool: async ({ caller, body }) => ({ body: await tools.create(caller, body) }),
    listTools: async ({ caller, query }) => ({ body: await tools.list(caller, query) }),
    getTool: async ({ caller, params }) => ({ body: await tools.get(caller, params.name) }),
    updateTool: async ({ caller, params, body }) => ({ body: await tools.update(caller, params.name, body) }),
    deleteTool: async ({ caller, params }) => {
      await tools.delete(caller, params.name);
      return {};
    },
    listToolVersions: async ({ caller, params }) => ({
      body: { data: await tools.listVersions(caller, params.name) },
    }),
    invokeTool: async ({ caller, params, body, signal }) => ({
      body: await tools.invoke(caller, params.name, body.input, signal, body.policies),
    }),
    refreshTool: async ({ caller, params }) => ({ body: await tools.refresh(caller, params.name) }),

    createPolicy: async ({ caller, body }) => ({ body: await policies.create(caller, body) }),
    listPolicies: async ({ caller, query }) => ({ body: await policies.list(caller, query) }),
    getPolicy: async ({ caller, params }) => ({ body: await policies.get(caller, params.name) }),
    updatePolicy: async ({ caller, params, body }) => ({
      body: await policies.update(caller, params.name, body),
    }),
    deletePolicy: async ({ caller, params }) => {
      await policies.delete(caller, params.name);
      return {};
    },
    listAudit: async ({ caller, query }) => ({ body: await policies.audit(caller, query) }),
    listApprovals: async ({ caller, query }) => ({ body: await approvals.list(caller, query) }),
    getApproval: async ({ caller, params }) => ({ body: await approvals.get(caller, params.approvalId) }),
    approveApproval: async ({ caller, params, body }) => ({
      body: await approvals.approve(caller, params.approvalId, body),
    }),
    denyApproval: async ({ caller, params, body }) => ({
      body: await approvals.deny(caller, params.approvalId, body),
    }),
    submitToolOutputs: async ({ caller, params, body }) => ({
      body: await approvals.submitToolOutputs(caller, params.runId, body),
    }),

    runStarterKit: async ({ caller }) => {
      const result = await starterKit.apply(caller);
      return { status: result.created ? 201 : 200, body: result };
    },
  };
}
