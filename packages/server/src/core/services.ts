import { McpClientPool } from '../engine/tools/mcp/mcp-client-pool.ts';
import { OAuth2TokenCache } from '../engine/tools/oauth2-token-cache.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Store } from '../store/index.ts';
import { AgentsService } from './agents-service.ts';
import { ApprovalsService } from './approvals-service.ts';
import { ApiKeysService } from './api-keys-service.ts';
import { AuthService, type Authenticator } from './auth-service.ts';
import type { SecretBox } from './crypto.ts';
import { IdempotencyService } from './idempotency-service.ts';
import { ModelAccess } from './model-access.ts';
import { PoliciesService } from './policies-service.ts';
import { ProvidersService } from './providers-service.ts';
import { RunsService } from './runs-service.ts';
import { SecretsService } from './secrets-service.ts';
import { StarterKitService } from './starter-kit-service.ts';
import { ThreadsService } from './threads-service.ts';
import { ToolRegistry } from './tool-registry.ts';
import { ToolsService } from './tools-service.ts';
import { WorkspacesService } from './workspaces-service.ts';

export interface Services {
  auth: Authenticator;
  workspaces: WorkspacesService;
  apiKeys: ApiKeysService;
  secrets: SecretsService;
  providers: ProvidersService;
  agents: AgentsService;
  threads: ThreadsService;
  runs: RunsService;
  starterKit: StarterKitService;
  tools: ToolsService;
  policies: PoliciesService;
  approvals: ApprovalsService;
  /** Stored responses of POSTs that carry an `Idempotency-Key`. */
  idempotency: IdempotencyService;
  /** For the engine: models and tools of a workspace. */
  modelAccess: ModelAccess;
}

export function createServices(
  store: Store,
  box: SecretBox,
  bus: EventBus,
  defaultWorkspaceId: string,
  options: { mcpStdioAllowed: boolean } = { mcpStdioAllowed: true },
): Services {
  const secrets = new SecretsService(store, box);
  const agents = new AgentsService(store, secrets);
  // One registry (and OAuth2 token cache) for the API's invocations and the worker's runs.
  const toolRegistry = new ToolRegistry(
    store,
    secrets,
    new OAuth2TokenCache(),
    new McpClientPool({ stdioAllowed: options.mcpStdioAllowed }),
  );
  return {
    auth: new AuthService(store, defaultWorkspaceId),
    workspaces: new WorkspacesService(store),
    apiKeys: new ApiKeysService(store),
    secrets,
    providers: new ProvidersService(store, secrets),
    agents,
    threads: new ThreadsService(store),
    runs: new RunsService(store, bus, box),
    starterKit: new StarterKitService(store, agents),
    tools: new ToolsService(store, secrets, toolRegistry, { mcpStdioAllowed: options.mcpStdioAllowed }),
    policies: new PoliciesService(store),
    approvals: new ApprovalsService(store, bus),
    idempotency: new IdempotencyService(store, box),
    modelAccess: new ModelAccess(store, secrets, toolRegistry),
  };
}
