import { starterAgentSlug, type CreateAgent, type StarterKitResult } from '@runyard/protocol';
import { isUniqueViolation, type Store } from '../store/index.ts';
import { hasErrorCode } from '../shared/errors.ts';
import { retryOnConflict } from '../shared/retry-on-conflict.ts';
import { toAgent, type AgentsService } from './agents-service.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { playgroundProvider } from './providers-service.ts';

/**
 * The demo agent: the offline playground model and the built-in `echo` tool, so a first run needs
 * no key. `echo` is built in: the kit stores nothing for it.
 */
export const starterAgent: CreateAgent = {
  slug: starterAgentSlug,
  name: 'Demo',
  description: "Runyard's starter agent: the offline playground model and the built-in echo tool.",
  model: 'playground/playground',
  instructions: 'You are a demo agent. When asked to echo text, call the echo tool with that text.',
  tools: ['echo'],
};

/** Creation attempts when a concurrent request wins the slug between the read and the insert. */
const maxAttempts = 3;

/**
 * Ensures a workspace can run something at once: the playground provider, the workspace's default
 * model (`playground/playground`, when it has none) and the `demo` agent, promoted to production.
 * Idempotent: an existing `demo` is returned as it is, never overwritten, whatever the user made of it.
 */
export class StarterKitService {
  constructor(
    private readonly store: Store,
    private readonly agents: AgentsService,
  ) {}

  async apply(caller: Caller): Promise<StarterKitResult> {
    await this.ensurePlayground(caller.workspaceId);
    // A workspace without a default model gets the playground's; one the user chose stays.
    await this.store.workspaces.setDefaultModelIfUnset(caller.workspaceId, starterAgent.model);
    return retryOnConflict(
      { maxAttempts, lostRace: (error) => hasErrorCode(error, 'CONFLICT') },
      async () => {
        const existing = await this.store.agents.find(caller.workspaceId, starterAgentSlug);
        if (existing !== undefined) return { agent: toAgent(existing), created: false };
        // Created and promoted in one transaction: no one ever sees an unpromoted demo.
        const agent = await this.agents.create(caller, starterAgent, { promoteToProduction: true });
        return { agent, created: true };
      },
    );
  }

  /** For the first start, which has no API key's caller: acts as the workspace itself. */
  async applyToWorkspace(workspaceId: string): Promise<StarterKitResult> {
    return this.apply({ keyId: 'starter-kit', workspaceId, scopes: ['write'], isInstanceAdmin: false });
  }

  /** Every workspace is created with it and it cannot be deleted; this only repairs its absence. */
  private async ensurePlayground(workspaceId: string): Promise<void> {
    if ((await this.store.providers.get(workspaceId, 'playground')) !== undefined) return;
    try {
      await this.store.providers.create(workspaceId, playgroundProvider(nowIso()));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
}
