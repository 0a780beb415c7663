import { z } from 'zod';
import { metadataSchema, type Agent } from '@runyard/protocol';
import { badRequest } from './errors.ts';

/** runagents agent names: DNS labels (Runyard slugs are 2–64 of a-z, 0-9 and -). */
export const agentNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$/, 'must be 2–64 characters of a-z, 0-9 and - (a DNS label)');

export const llmRoles = ['chat', 'embedding', 'classify', 'reranking'] as const;

export const llmConfigSchema = z.strictObject({
  /** A model provider's name (`playground-llm`), or a provider type (`openai`) when one provider has it. */
  provider: z.string().min(1).max(64),
  model: z.string().min(1).max(200).regex(/^\S+$/, 'must not contain spaces'),
  role: z.enum(llmRoles).default('chat'),
});
export type LlmConfig = z.infer<typeof llmConfigSchema>;

export const envEntrySchema = z.union([
  z.strictObject({ name: z.string().min(1).max(128), value: z.string().max(16_384) }),
  /** A Runyard secret, read when the agent runs. */
  z.strictObject({ name: z.string().min(1).max(128), secretRef: z.string().min(1).max(128) }),
]);
export type EnvEntry = z.infer<typeof envEntrySchema>;

/** What runagents knows of an agent that Runyard's agent does not hold itself (`metadata.runagents`). */
const runagentsFieldsSchema = z.object({
  llmConfigs: z.array(llmConfigSchema),
  identityProvider: z.string().nullable(),
});
export type RunagentsFields = z.infer<typeof runagentsFieldsSchema>;

const metadataKey = 'runagents';

export function metadataWith(
  current: Record<string, unknown>,
  fields: RunagentsFields,
): Record<string, unknown> {
  const metadata = { ...current, [metadataKey]: fields };
  if (!metadataSchema.safeParse(metadata).success) {
    throw badRequest(
      "llm_configs and identity_provider are kept in the agent's metadata, which would be too large with them",
    );
  }
  return metadata;
}

/** Agent status → runagents' `status.phase`. */
function phaseOf(status: Agent['status']): string {
  switch (status) {
    case 'active':
      return 'Running';
    case 'paused':
      return 'Pending';
    case 'archived':
      return 'Terminated';
  }
}

/** The agent as `GET /api/agents/{namespace}/{name}` shows it. */
export function toRunagentsAgent(agent: Agent, namespace: string) {
  const parsed = runagentsFieldsSchema.safeParse(agent.metadata[metadataKey]);
  const slash = agent.model.indexOf('/');
  // Without llm_configs (an agent on the workspace's default model, or made through /v1): its model.
  const llmConfig =
    parsed.success && parsed.data.llmConfigs.length > 0
      ? parsed.data.llmConfigs
      : [
          {
            provider: agent.model.slice(0, slash),
            model: agent.model.slice(slash + 1),
            role: 'chat' as const,
          },
        ];
  return {
    name: agent.slug,
    namespace,
    id: agent.id,
    spec: {
      image: null,
      systemPrompt: agent.instructions,
      requiredTools: agent.tools,
      llmConfig,
      env: Object.entries(agent.env).map(([name, value]) =>
        typeof value === 'string' ? { name, value } : { name, secretRef: value.secret },
      ),
      policies: agent.policies,
      identityProvider: parsed.success ? parsed.data.identityProvider : null,
    },
    status: { phase: phaseOf(agent.status), version: agent.version, executionMode: 'PROMPT_AGENT' },
    created_at: agent.createdAt,
    updated_at: agent.updatedAt,
  };
}
