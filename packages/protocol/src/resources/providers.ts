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

export const providerSchema = z
  .object({
    id: idSchema('provider'),
    name: z.string(),
    kind: providerKindSchema,
    baseUrl: z.string().nullable(),
    apiKey: secretReferenceSchema.nullable(),
    models: z.array(z.string()),
    requestsPerMinute: z.number().int().nullable(),
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
};

export const createProviderSchema = z
  .strictObject({
    name: providerNameSchema,
    kind: providerKindSchema.exclude(['playground']),
    baseUrl: providerFields.baseUrl.optional(),
    apiKey: providerFields.apiKey.optional(),
    models: providerFields.models.default([]),
    requestsPerMinute: providerFields.requestsPerMinute.optional(),
  })
  .meta({ id: 'CreateProvider' });
export type CreateProvider = z.infer<typeof createProviderSchema>;

export const updateProviderSchema = z
  .strictObject({
    baseUrl: providerFields.baseUrl.nullable().optional(),
    apiKey: providerFields.apiKey.nullable().optional(),
    models: providerFields.models.optional(),
    requestsPerMinute: providerFields.requestsPerMinute.nullable().optional(),
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
