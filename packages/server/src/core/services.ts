import type { Store } from '../store/index.ts';
import { AgentsService } from './agents-service.ts';
import { ApiKeysService } from './api-keys-service.ts';
import { AuthService } from './auth-service.ts';
import type { SecretBox } from './crypto.ts';
import { ProvidersService } from './providers-service.ts';
import { SecretsService } from './secrets-service.ts';
import { WorkspacesService } from './workspaces-service.ts';

export interface Services {
  auth: AuthService;
  workspaces: WorkspacesService;
  apiKeys: ApiKeysService;
  secrets: SecretsService;
  providers: ProvidersService;
  agents: AgentsService;
}

export function createServices(store: Store, box: SecretBox, defaultWorkspaceId: string): Services {
  const secrets = new SecretsService(store, box);
  return {
    auth: new AuthService(store, defaultWorkspaceId),
    workspaces: new WorkspacesService(store),
    apiKeys: new ApiKeysService(store),
    secrets,
    providers: new ProvidersService(store, secrets),
    agents: new AgentsService(store, secrets),
  };
}
