import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { secretReferenceSchema, timestampSchema } from '../common.ts';

export const providerKinds = ['openai', 'anthropic', 'openai-compatible', 'playground'] as const;
export const providerKindSchema = z.enum(providerKinds);
export type ProviderKind = z.infer<typeof providerKindSchema>;

export const providerNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$|^[a-z0-9]$/, 'must be 1–64 characters of a-z, 0-9 and -');

const modelNameSchema = z.string().min(1).max(200).regex(/^\S+$/, 'must not contain spaces');

/** Which OpenAI API an `openai` provider speaks: chat completions (the default) or the Responses API. */
export const providerApis = ['chat', 'responses'] as const;
export const providerApiSchema = z.enum(providerApis);
export type ProviderApi = z.infer<typeof providerApiSchema>;

const usdPerMillionTokens = z.number().nonnegative().max(1_000_000);

/** A model's price in US dollars per million tokens, as in the built-in price table. */
export const modelPriceSchema = z
  .strictObject({ inputPerMillionUsd: usdPerMillionTokens, outputPerMillionUsd: usdPerMillionTokens })
  .meta({ id: 'ModelPrice' });
export type ModelPrice = z.infer<typeof modelPriceSchema>;

/** Prices by model name (compared case-insensitively); they win over the built-in table. */
const providerPricesSchema = z
  .record(modelNameSchema, modelPriceSchema)
  .refine((prices) => Object.keys(prices).length <= 500, 'must price at most 500 models')
  .refine(
    (prices) =>
      new Set(Object.keys(prices).map((name) => name.toLowerCase())).size === Object.keys(prices).length,
    'must not price a model twice (names compare case-insensitively)',
  );

/** A provider's number: Make's connection ids are 32-bit integers, and so is the column. */
const providerNumberSchema = z.number().int().positive().max(2_147_483_647);

export const providerSchema = z
  .object({
    id: idSchema('provider'),
    name: z.string(),
    number: providerNumberSchema.describe(
      'A stable integer, unique in the workspace: the makeConnectionId of the Make surface.',
    ),
    kind: providerKindSchema,
    baseUrl: z.string().nullable(),
    apiKey: secretReferenceSchema.nullable(),
    models: z.array(z.string()),
    requestsPerMinute: z.number().int().nullable(),
    api: providerApiSchema
      .nullable()
      .describe('The OpenAI API an openai provider speaks; null for other kinds.'),
    prices: z
      .record(z.string(), modelPriceSchema)
      .describe('Prices by model name that win over the built-in price table.'),
    builtIn: z.boolean(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Provider' });
export type Provider = z.infer<typeof providerSchema>;

const providerFields = {
  baseUrl: z.url({ protocol: /^https?$/ }).max(2048),
  apiKey: secretReferenceSchema,
  models: z.array(modelNameSchema).max(500),
  requestsPerMinute: z.number().int().min(1).max(1_000_000),
  api: providerApiSchema.describe('Only for kind openai: "chat" (default) or "responses".'),
  prices: providerPricesSchema,
};

export const createProviderSchema = z
  .strictObject({
    name: providerNameSchema,
    kind: providerKindSchema.exclude(['playground']),
    baseUrl: providerFields.baseUrl.optional(),
    apiKey: providerFields.apiKey.optional(),
    models: providerFields.models.default([]),
    requestsPerMinute: providerFields.requestsPerMinute.optional(),
    api: providerFields.api.optional(),
    prices: providerFields.prices.optional(),
    number: providerNumberSchema
      .optional()
      .describe('Default: the highest in the workspace plus one. Set it to keep a Make makeConnectionId.'),
  })
  .meta({ id: 'CreateProvider' });
export type CreateProvider = z.infer<typeof createProviderSchema>;

export const updateProviderSchema = z
  .strictObject({
    baseUrl: providerFields.baseUrl.nullable().optional(),
    apiKey: providerFields.apiKey.nullable().optional(),
    models: providerFields.models.optional(),
    requestsPerMinute: providerFields.requestsPerMinute.nullable().optional(),
    /** null: back to the default, "chat". */
    api: providerFields.api.nullable().optional(),
    /** Replaces every override; {} removes them. */
    prices: providerFields.prices.optional(),
    number: providerNumberSchema
      .optional()
      .describe('A new number, unique in the workspace (the only change a built-in provider takes).'),
  })
  .meta({ id: 'UpdateProvider' });
export type UpdateProvider = z.infer<typeof updateProviderSchema>;

export const providerTestResultSchema = z
  .object({
    ok: z.boolean(),
    latencyMs: z.number(),
    models: z.array(z.string()).optional(),
    error: z
      .object({ code: z.string(), message: z.string(), status: z.number().int().optional() })
      .optional(),
  })
  .meta({ id: 'ProviderTestResult' });
export type ProviderTestResult = z.infer<typeof providerTestResultSchema>;
