import { z } from 'zod';
import { agentEnvSchema, agentSlugSchema, metadataSchema, nameSchema, type Agent } from '@runyard/protocol';
import { RuntoolsError } from './errors.ts';

export const executionModes = ['in_sandbox', 'managed', 'local-mac'] as const;
export type ExecutionMode = (typeof executionModes)[number];

/** Core tool names and Tool Hub slugs, as runtools names them. */
const toolReferenceSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:/-]{1,128}$/, 'must be a tool name or Tool Hub slug (1–128 characters)');

/** `POST /v1/agents`: the fields runtools documents, nothing else. */
export const upsertBodySchema = z.strictObject({
  slug: agentSlugSchema,
  name: nameSchema.optional(),
  description: z.string().max(4000).nullish(),
  model: z.string().min(1).max(300).regex(/^\S+$/, 'must not contain spaces').nullish(),
  systemPrompt: z.string().max(200_000).nullish(),
  tools: z.array(toolReferenceSchema).max(128).optional(),
  sandbox: z.string().min(1).max(200).nullish(),
  executionMode: z.enum(executionModes).optional(),
  targetDeviceId: z.string().min(1).max(200).nullish(),
  resources: z
    .array(z.record(z.string().max(128), z.unknown()))
    .max(50)
    .refine((value) => JSON.stringify(value).length <= 8192, 'must serialize to at most 8192 characters')
    .optional(),
  env: agentEnvSchema.optional(),
  maxIterations: z.number().int().min(1).max(1000).optional(),
  maxTokens: z.number().int().min(1).max(1_000_000).optional(),
  temperature: z.number().min(0).max(2).optional(),
});
export type UpsertBody = z.infer<typeof upsertBodySchema>;

/**
 * What runtools knows of an agent that Runyard's agent does not hold itself, kept as given in the
 * agent's `metadata.runtools` (descriptive: changing it creates no version).
 */
export const runtoolsFieldsSchema = z.object({
  /** The model as the caller named it (`claude-sonnet-4`); null when omitted. */
  model: z.string().nullable(),
  /** Every requested tool, including those Runyard does not have. */
  tools: z.array(z.string()),
  sandbox: z.string().nullable(),
  executionMode: z.enum(executionModes),
  targetDeviceId: z.string().nullable(),
  resources: z.array(z.record(z.string(), z.unknown())),
  /**
   * The provider kind `model` waits for when no provider served it at the upsert (the Runyard
   * model is then `<kind>/<model>`, a provider that does not exist); null or absent when served.
   */
  unservedModelKind: z.enum(['openai', 'anthropic', 'openai-compatible']).nullish(),
});
export type RuntoolsFields = z.infer<typeof runtoolsFieldsSchema>;

export const metadataKey = 'runtools';

/** The runtools fields of an agent; an agent made through /v1 reads as a managed agent. */
export function runtoolsFieldsOf(agent: Agent): RuntoolsFields {
  const parsed = runtoolsFieldsSchema.safeParse(agent.metadata[metadataKey]);
  if (parsed.success) return parsed.data;
  return {
    model: agent.model,
    tools: agent.tools,
    sandbox: null,
    executionMode: 'managed',
    targetDeviceId: null,
    resources: [],
  };
}

/** The agent's metadata with the runtools fields replaced, checked against the metadata limit. */
export function metadataWith(
  current: Record<string, unknown>,
  fields: RuntoolsFields,
): Record<string, unknown> {
  const metadata = { ...current, [metadataKey]: fields };
  if (!metadataSchema.safeParse(metadata).success) {
    throw new RuntoolsError(
      400,
      'bad_request',
      "tools, sandbox, targetDeviceId and resources are kept in the agent's metadata, which would exceed 16384 characters with them",
    );
  }
  return metadata;
}

/** The agent as runtools' `GET /v1/agents/{slug}` shows it. */
export function toRuntoolsAgent(agent: Agent, workspaceId: string) {
  const fields = runtoolsFieldsOf(agent);
  return {
    id: agent.id,
    orgId: workspaceId,
    slug: agent.slug,
    name: agent.name,
    description: agent.description,
    model: fields.model ?? agent.model,
    /** The Runyard `provider/model` the agent runs with. */
    runyardModel: agent.model,
    executionMode: fields.executionMode,
    visibility: 'private',
    systemPrompt: agent.instructions,
    toolsJson: fields.tools,
    /** The requested tools this server can run today (the others wait for sandboxes and Tool Hub). */
    runyardTools: agent.tools,
    sandboxId: fields.sandbox,
    sandboxSlug: fields.sandbox,
    targetDeviceId: fields.targetDeviceId,
    status: agent.status,
    configJson: {
      ...(agent.settings.maxIterations !== undefined && { maxIterations: agent.settings.maxIterations }),
      ...(agent.settings.maxOutputTokens !== undefined && { maxTokens: agent.settings.maxOutputTokens }),
      ...(agent.settings.temperature !== undefined && { temperature: agent.settings.temperature }),
    },
    envJson: agent.env,
    attachedResources: fields.resources,
    version: agent.version,
    createdAt: agent.createdAt,
    updatedAt: agent.updatedAt,
  };
}
