import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { metadataSchema, nameSchema, secretReferenceSchema, timestampSchema } from '../common.ts';

export const agentSlugSchema = z
  .string()
  .regex(/^[a-z0-9-]{2,64}$/, 'must be 2–64 characters of a-z, 0-9 and -');

export const agentStatuses = ['active', 'paused', 'archived'] as const;
export const agentStatusSchema = z.enum(agentStatuses);

export const environments = ['draft', 'staging', 'production'] as const;
export const environmentSchema = z.enum(environments);
export type Environment = z.infer<typeof environmentSchema>;

/** `provider/model`: the provider by its name in this workspace, then the model as the provider names it. */
export const modelReferenceSchema = z
  .string()
  .max(300)
  .regex(/^[a-z0-9-]{1,64}\/\S+$/, 'must be "provider/model", e.g. "playground/playground"');

export const agentSettingsSchema = z
  .strictObject({
    temperature: z.number().min(0).max(2).optional(),
    /** Token budget of one run (input and output, all steps); exceeding it ends the run with BUDGET_EXCEEDED. */
    maxTokens: z.number().int().min(1).max(100_000_000).optional(),
    maxIterations: z.number().int().min(1).max(1000).optional(),
    timeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
    /** Output tokens per model call. */
    maxOutputTokens: z.number().int().min(1).max(1_000_000).optional(),
    /** Models (`provider/model`) tried in order when the agent's model keeps failing. */
    fallbackModels: z.array(modelReferenceSchema).max(5).optional(),
    /** Budget of one run in US dollars; exceeding it ends the run with BUDGET_EXCEEDED. */
    maxCostUsd: z.number().positive().max(1_000_000).optional(),
    /** Budget of all runs of the agent in one UTC day. */
    dailyMaxTokens: z.number().int().min(1).max(1_000_000_000).optional(),
    dailyMaxCostUsd: z.number().positive().max(1_000_000).optional(),
    /** Thread history sent to the model is trimmed, oldest first, to this many (estimated) tokens. */
    historyTokenBudget: z.number().int().min(256).max(10_000_000).optional(),
    /** When trimmed history exceeds this many tokens, a summary of it replaces the trimmed turns. */
    summarizeAfterTokens: z.number().int().min(256).max(10_000_000).optional(),
  })
  .meta({ id: 'AgentSettings' });
export type AgentSettings = z.infer<typeof agentSettingsSchema>;

export const envVariableNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');

export const agentEnvSchema = z
  .record(envVariableNameSchema, z.union([z.string().max(16_384), secretReferenceSchema]))
  .refine((value) => Object.keys(value).length <= 200, 'must have at most 200 entries');

const toolNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a tool name ([A-Za-z0-9_.-], 1–128 characters)');
const policyNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a policy name ([A-Za-z0-9_.-], 1–128 characters)');

const shortText = z.string().max(100);

/** The fields that shape behaviour. Changing any of them creates a new version. */
const behaviourFields = {
  model: modelReferenceSchema,
  instructions: z.string().max(200_000),
  tools: z.array(toolNameSchema).max(128),
  policies: z.array(policyNameSchema).max(64),
  outputSchema: z.record(z.string(), z.unknown()).nullable(),
  settings: agentSettingsSchema,
  env: agentEnvSchema,
};

/** Descriptive fields: changing them does not create a version. */
const descriptiveFields = {
  name: nameSchema,
  description: z.string().max(4000),
  category: shortText,
  subcategory: shortText,
  tags: z
    .array(z.string().trim().min(1).max(64))
    .max(50)
    .refine((list) => new Set(list).size === list.length, 'must not repeat a tag'),
  status: agentStatusSchema,
  metadata: metadataSchema,
};

export const agentConfigSchema = z
  .object({
    model: z.string(),
    instructions: z.string(),
    tools: z.array(z.string()),
    policies: z.array(z.string()),
    outputSchema: z.record(z.string(), z.unknown()).nullable(),
    settings: agentSettingsSchema,
    env: z.record(z.string(), z.union([z.string(), secretReferenceSchema])),
  })
  .meta({ id: 'AgentConfig' });
export type AgentConfig = z.infer<typeof agentConfigSchema>;

export const agentSchema = z
  .object({
    id: idSchema('agent'),
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    category: z.string().nullable(),
    subcategory: z.string().nullable(),
    tags: z.array(z.string()),
    status: agentStatusSchema,
    metadata: z.record(z.string(), z.unknown()),
    ...agentConfigSchema.shape,
    version: z
      .number()
      .int()
      .positive()
      .describe('The newest version, which the draft environment points to.'),
    environments: z.object({
      draft: z.number().int().positive(),
      staging: z.number().int().positive().nullable(),
      production: z.number().int().positive().nullable(),
    }),
    etag: z.string(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof agentSchema>;

export const createAgentSchema = z
  .strictObject({
    slug: agentSlugSchema,
    name: descriptiveFields.name,
    description: descriptiveFields.description.optional(),
    category: descriptiveFields.category.optional(),
    subcategory: descriptiveFields.subcategory.optional(),
    tags: descriptiveFields.tags.optional(),
    status: descriptiveFields.status.optional(),
    metadata: descriptiveFields.metadata.optional(),
    model: behaviourFields.model,
    instructions: behaviourFields.instructions.optional(),
    tools: behaviourFields.tools.optional(),
    policies: behaviourFields.policies.optional(),
    outputSchema: behaviourFields.outputSchema.optional(),
    settings: behaviourFields.settings.optional(),
    env: behaviourFields.env.optional(),
  })
  .meta({ id: 'CreateAgent' });
export type CreateAgent = z.infer<typeof createAgentSchema>;

export const updateAgentSchema = createAgentSchema.omit({ slug: true }).partial().meta({ id: 'UpdateAgent' });
export type UpdateAgent = z.infer<typeof updateAgentSchema>;

/** PUT /v1/agents/{slug}: the whole agent; `slug`, when given, must equal the path. */
export const upsertAgentSchema = createAgentSchema.partial({ slug: true }).meta({ id: 'UpsertAgent' });
export type UpsertAgent = z.infer<typeof upsertAgentSchema>;

export const upsertAgentResultSchema = z
  .object({ action: z.enum(['created', 'updated', 'unchanged']), agent: agentSchema })
  .meta({ id: 'UpsertAgentResult' });
export type UpsertAgentResult = z.infer<typeof upsertAgentResultSchema>;

export const agentVersionSchema = z
  .object({
    agentId: idSchema('agent'),
    version: z.number().int().positive(),
    contentHash: z.string(),
    config: agentConfigSchema,
    createdAt: timestampSchema,
  })
  .meta({ id: 'AgentVersion' });
export type AgentVersion = z.infer<typeof agentVersionSchema>;

export const agentVersionListSchema = z.object({ data: z.array(agentVersionSchema) });

export const agentDiffSchema = z
  .object({
    from: z.number().int(),
    to: z.number().int(),
    changes: z.array(
      z.object({
        path: z.string().describe('Dotted path of the changed field, e.g. settings.temperature'),
        before: z.unknown(),
        after: z.unknown(),
      }),
    ),
  })
  .meta({ id: 'AgentDiff' });
export type AgentDiff = z.infer<typeof agentDiffSchema>;

export const promoteAgentSchema = z
  .strictObject({
    version: z.number().int().positive(),
    environment: z.enum(['staging', 'production']),
  })
  .meta({ id: 'PromoteAgent' });
export type PromoteAgent = z.infer<typeof promoteAgentSchema>;

export const listAgentsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  tag: z.string().max(64).optional(),
  category: z.string().max(100).optional(),
  status: agentStatusSchema.optional(),
  search: z.string().max(200).optional(),
});

export const agentDiffQuerySchema = z.strictObject({
  from: z.coerce.number().int().positive(),
  to: z.coerce.number().int().positive(),
});
