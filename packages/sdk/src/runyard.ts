import {
  routes,
  type Agent,
  type AgentDiff,
  type AgentVersion,
  type ApiKey,
  type BodyInputOf,
  type CreatedApiKey,
  type Provider,
  type Message,
  type ProviderTestResult,
  type Run,
  type RunArtifact,
  type RunDelivery,
  type RunEvent,
  type Thread,
  type QueryInputOf,
  type Secret,
  type StarterKitResult,
  type Tool,
  type ToolVersion,
  type InvokeToolResult,
  type Policy,
  type AuditEntry,
  type Approval,
  type UpsertAgentResult,
  type Workspace,
} from '@runyard/protocol';
import { Transport, type ClientOptions } from './client.ts';

type Page<T> = { data: T[]; nextCursor: string | null };
type Write = { idempotencyKey?: string };
type Conditional = { ifMatch?: string };

/**
 * The typed client for the Runyard `/v1` API. Every method maps to one route of the catalogue in
 * `@runyard/protocol`, and every response is validated against it.
 */
export class Runyard {
  readonly transport: Transport;

  constructor(options: ClientOptions) {
    this.transport = new Transport(options);
  }

  private async data<T>(promise: Promise<{ data: T }>): Promise<T> {
    return (await promise).data;
  }

  /**
   * Ensures the demo agent `demo` (playground model, echo tool, in production) in this key's
   * workspace. Safe to call again: an existing `demo` is returned unchanged, with `created: false`.
   */
  starterKit(options: Write = {}): Promise<StarterKitResult> {
    return this.data(this.transport.call(routes.runStarterKit, { body: {}, ...options }));
  }

  readonly workspaces = {
    create: (body: BodyInputOf<typeof routes.createWorkspace>, options: Write = {}): Promise<Workspace> =>
      this.data(this.transport.call(routes.createWorkspace, { body, ...options })),
    list: (query: QueryInputOf<typeof routes.listWorkspaces> = {}): Promise<Page<Workspace>> =>
      this.data(this.transport.call(routes.listWorkspaces, { query })),
    get: (workspaceId: string): Promise<Workspace> =>
      this.data(this.transport.call(routes.getWorkspace, { params: { workspaceId } })),
    /** Changes its default model (`null` unsets it) or, for instance administrators, its Make teamId. */
    update: (workspaceId: string, body: BodyInputOf<typeof routes.updateWorkspace>): Promise<Workspace> =>
      this.data(this.transport.call(routes.updateWorkspace, { params: { workspaceId }, body })),
  };

  readonly apiKeys = {
    create: (body: BodyInputOf<typeof routes.createApiKey>, options: Write = {}): Promise<CreatedApiKey> =>
      this.data(this.transport.call(routes.createApiKey, { body, ...options })),
    list: (query: QueryInputOf<typeof routes.listApiKeys> = {}): Promise<Page<ApiKey>> =>
      this.data(this.transport.call(routes.listApiKeys, { query })),
    get: (keyId: string): Promise<ApiKey> =>
      this.data(this.transport.call(routes.getApiKey, { params: { keyId } })),
    revoke: async (keyId: string): Promise<void> => {
      await this.transport.call(routes.revokeApiKey, { params: { keyId } });
    },
  };

  readonly secrets = {
    create: (body: BodyInputOf<typeof routes.createSecret>, options: Write = {}): Promise<Secret> =>
      this.data(this.transport.call(routes.createSecret, { body, ...options })),
    list: (query: QueryInputOf<typeof routes.listSecrets> = {}): Promise<Page<Secret>> =>
      this.data(this.transport.call(routes.listSecrets, { query })),
    get: (name: string): Promise<Secret> =>
      this.data(this.transport.call(routes.getSecret, { params: { name } })),
    rotate: (name: string, value: string): Promise<Secret> =>
      this.data(this.transport.call(routes.rotateSecret, { params: { name }, body: { value } })),
    delete: async (name: string): Promise<void> => {
      await this.transport.call(routes.deleteSecret, { params: { name } });
    },
  };

  readonly providers = {
    create: (body: BodyInputOf<typeof routes.createProvider>, options: Write = {}): Promise<Provider> =>
      this.data(this.transport.call(routes.createProvider, { body, ...options })),
    list: (query: QueryInputOf<typeof routes.listProviders> = {}): Promise<Page<Provider>> =>
      this.data(this.transport.call(routes.listProviders, { query })),
    get: (name: string): Promise<Provider> =>
      this.data(this.transport.call(routes.getProvider, { params: { name } })),
    update: (name: string, body: BodyInputOf<typeof routes.updateProvider>): Promise<Provider> =>
      this.data(this.transport.call(routes.updateProvider, { params: { name }, body })),
    delete: async (name: string): Promise<void> => {
      await this.transport.call(routes.deleteProvider, { params: { name } });
    },
    test: (name: string): Promise<ProviderTestResult> =>
      this.data(this.transport.call(routes.testProvider, { params: { name }, body: {} })),
  };

  readonly agents = {
    create: (body: BodyInputOf<typeof routes.createAgent>, options: Write = {}): Promise<Agent> =>
      this.data(this.transport.call(routes.createAgent, { body, ...options })),
    list: (query: QueryInputOf<typeof routes.listAgents> = {}): Promise<Page<Agent>> =>
      this.data(this.transport.call(routes.listAgents, { query })),
    get: (idOrSlug: string): Promise<Agent> =>
      this.data(this.transport.call(routes.getAgent, { params: { idOrSlug } })),
    update: (
      idOrSlug: string,
      body: BodyInputOf<typeof routes.updateAgent>,
      options: Conditional = {},
    ): Promise<Agent> =>
      this.data(this.transport.call(routes.updateAgent, { params: { idOrSlug }, body, ...options })),
    upsert: (
      slug: string,
      body: BodyInputOf<typeof routes.upsertAgent>,
      options: Conditional = {},
    ): Promise<UpsertAgentResult> =>
      this.data(this.transport.call(routes.upsertAgent, { params: { slug }, body, ...options })),
    delete: async (idOrSlug: string, options: Conditional = {}): Promise<void> => {
      await this.transport.call(routes.deleteAgent, { params: { idOrSlug }, ...options });
    },
    versions: async (idOrSlug: string): Promise<AgentVersion[]> =>
      (await this.transport.call(routes.listAgentVersions, { params: { idOrSlug } })).data.data,
    version: (idOrSlug: string, version: number): Promise<AgentVersion> =>
      this.data(this.transport.call(routes.getAgentVersion, { params: { idOrSlug, version } })),
    diff: (idOrSlug: string, from: number, to: number): Promise<AgentDiff> =>
      this.data(this.transport.call(routes.diffAgentVersions, { params: { idOrSlug }, query: { from, to } })),
    promote: (idOrSlug: string, body: BodyInputOf<typeof routes.promoteAgent>): Promise<Agent> =>
      this.data(this.transport.call(routes.promoteAgent, { params: { idOrSlug }, body })),
  };

  readonly tools = {
    create: (body: BodyInputOf<typeof routes.createTool>, options: Write = {}): Promise<Tool> =>
      this.data(this.transport.call(routes.createTool, { body, ...options })),
    /** Built-in tools first, then the registry, newest first. */
    list: (query: QueryInputOf<typeof routes.listTools> = {}): Promise<Page<Tool>> =>
      this.data(this.transport.call(routes.listTools, { query })),
    get: (name: string): Promise<Tool> =>
      this.data(this.transport.call(routes.getTool, { params: { name } })),
    update: (name: string, body: BodyInputOf<typeof routes.updateTool>): Promise<Tool> =>
      this.data(this.transport.call(routes.updateTool, { params: { name }, body })),
    delete: async (name: string): Promise<void> => {
      await this.transport.call(routes.deleteTool, { params: { name } });
    },
    versions: async (name: string): Promise<ToolVersion[]> =>
      (await this.transport.call(routes.listToolVersions, { params: { name } })).data.data,
    /** Calls a tool (`shout`, `billing.createInvoice`, `echo`) directly and returns what a model would get. */
    invoke: (
      name: string,
      input: Record<string, unknown> = {},
      options: Write & { policies?: string[] } = {},
    ): Promise<InvokeToolResult> => {
      const { policies, ...write } = options;
      return this.data(
        this.transport.call(routes.invokeTool, {
          params: { name },
          body: { input, ...(policies !== undefined && { policies }) },
          ...write,
        }),
      );
    },
    /** Lists an MCP tool's tools again (tools/list): its operations become what the server offers now. */
    refresh: (name: string, options: Write = {}): Promise<Tool> =>
      this.data(this.transport.call(routes.refreshTool, { params: { name }, ...options })),
  };

  /** Named egress policies, bound to agents by `policies: [names]` (docs/architecture/policies.md). */
  readonly policies = {
    create: (body: BodyInputOf<typeof routes.createPolicy>, options: Write = {}): Promise<Policy> =>
      this.data(this.transport.call(routes.createPolicy, { body, ...options })),
    list: (query: QueryInputOf<typeof routes.listPolicies> = {}): Promise<Page<Policy>> =>
      this.data(this.transport.call(routes.listPolicies, { query })),
    get: (name: string): Promise<Policy> =>
      this.data(this.transport.call(routes.getPolicy, { params: { name } })),
    update: (name: string, body: BodyInputOf<typeof routes.updatePolicy>): Promise<Policy> =>
      this.data(this.transport.call(routes.updatePolicy, { params: { name }, body })),
    delete: async (name: string): Promise<void> => {
      await this.transport.call(routes.deletePolicy, { params: { name } });
    },
  };

  /** Policy decisions, newest first; filters: runId, agent, effect, since. */
  readonly audit = {
    list: (query: QueryInputOf<typeof routes.listAudit> = {}): Promise<Page<AuditEntry>> =>
      this.data(this.transport.call(routes.listAudit, { query })),
  };

  /** Tool calls paused for a human (docs/architecture/approvals.md); deciding one resumes its run. */
  readonly approvals = {
    list: (query: QueryInputOf<typeof routes.listApprovals> = {}): Promise<Page<Approval>> =>
      this.data(this.transport.call(routes.listApprovals, { query })),
    get: (approvalId: string): Promise<Approval> =>
      this.data(this.transport.call(routes.getApproval, { params: { approvalId } })),
    approve: (approvalId: string, body: BodyInputOf<typeof routes.approveApproval> = {}): Promise<Approval> =>
      this.data(this.transport.call(routes.approveApproval, { params: { approvalId }, body })),
    deny: (approvalId: string, body: BodyInputOf<typeof routes.denyApproval> = {}): Promise<Approval> =>
      this.data(this.transport.call(routes.denyApproval, { params: { approvalId }, body })),
  };

  readonly threads = {
    create: (body: BodyInputOf<typeof routes.createThread> = {}, options: Write = {}): Promise<Thread> =>
      this.data(this.transport.call(routes.createThread, { body, ...options })),
    list: (query: QueryInputOf<typeof routes.listThreads> = {}): Promise<Page<Thread>> =>
      this.data(this.transport.call(routes.listThreads, { query })),
    get: (threadId: string): Promise<Thread> =>
      this.data(this.transport.call(routes.getThread, { params: { threadId } })),
    update: (threadId: string, body: BodyInputOf<typeof routes.updateThread>): Promise<Thread> =>
      this.data(this.transport.call(routes.updateThread, { params: { threadId }, body })),
    delete: async (threadId: string): Promise<void> => {
      await this.transport.call(routes.deleteThread, { params: { threadId } });
    },
    messages: (
      threadId: string,
      query: QueryInputOf<typeof routes.listThreadMessages> = {},
    ): Promise<Page<Message>> =>
      this.data(this.transport.call(routes.listThreadMessages, { params: { threadId }, query })),
  };

  readonly runs = {
    /** `mode: 'wait'` (default) resolves with the ended run; `background` at once (status queued). */
    create: (
      agent: string,
      body: Omit<BodyInputOf<typeof routes.createAgentRun>, 'mode'> & { mode?: 'wait' | 'background' },
      options: Write = {},
    ): Promise<Run> =>
      this.data(
        this.transport.call(routes.createAgentRun, { params: { idOrSlug: agent }, body, ...options }),
      ),
    /**
     * Starts a run and yields its events as they happen, ending after `run-end`. A dropped connection
     * is resumed after the last event seen (`follow`), so no event is lost or repeated.
     */
    stream: (
      agent: string,
      body: Omit<BodyInputOf<typeof routes.createAgentRun>, 'mode'>,
    ): AsyncGenerator<RunEvent> =>
      this.transport.stream(routes.createAgentRun, {
        params: { idOrSlug: agent },
        body: { ...body, mode: 'stream' },
      }),
    list: (query: QueryInputOf<typeof routes.listRuns> = {}): Promise<Page<Run>> =>
      this.data(this.transport.call(routes.listRuns, { query })),
    get: (runId: string): Promise<Run> =>
      this.data(this.transport.call(routes.getRun, { params: { runId } })),
    cancel: (runId: string): Promise<Run> =>
      this.data(this.transport.call(routes.cancelRun, { params: { runId }, body: {} })),
    /** Outputs of client tool calls the run waits for (`requiredAction.type: tool_outputs`). */
    submitToolOutputs: (runId: string, body: BodyInputOf<typeof routes.submitToolOutputs>): Promise<Run> =>
      this.data(this.transport.call(routes.submitToolOutputs, { params: { runId }, body })),
    events: async (
      runId: string,
      query: QueryInputOf<typeof routes.listRunEvents> = {},
    ): Promise<RunEvent[]> =>
      (await this.transport.call(routes.listRunEvents, { params: { runId }, query })).data.data,
    /** Every attempt to POST the ended run to its `callbackUrl`, oldest first. */
    deliveries: async (runId: string): Promise<RunDelivery[]> =>
      (await this.transport.call(routes.listRunDeliveries, { params: { runId } })).data.data,
    /** The files the run's tool calls kept (whole responses too large for the model), oldest first. */
    artifacts: async (runId: string): Promise<RunArtifact[]> =>
      (await this.transport.call(routes.listRunArtifacts, { params: { runId } })).data.data,
    /** One artifact's bytes, exactly as stored, and the content type they are served with. */
    artifact: async (
      runId: string,
      artifactId: string,
    ): Promise<{ contentType: string; bytes: Uint8Array }> => {
      const response = await this.transport.call(routes.getRunArtifact, { params: { runId, artifactId } });
      return {
        contentType: response.headers.get('content-type') ?? 'application/octet-stream',
        bytes: response.data,
      };
    },
    /**
     * The run's events after `afterSeq` (stored, then live), ending after `run-end`: continue exactly
     * after event N with `follow(runId, N)`. A dropped connection is resumed after the last event seen.
     */
    follow: (runId: string, afterSeq = 0): AsyncGenerator<RunEvent> =>
      this.transport.stream(routes.streamRun, { params: { runId }, lastEventId: String(afterSeq) }),
  };
}
