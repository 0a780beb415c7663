import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { nameSchema, timestampSchema } from '../common.ts';

/** `admin` implies every other scope. */
export const scopes = ['read', 'write', 'run', 'admin'] as const;
export const scopeSchema = z.enum(scopes);
export type Scope = z.infer<typeof scopeSchema>;

export const apiKeySchema = z
  .object({
    id: idSchema('apiKey'),
    workspaceId: idSchema('workspace'),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(scopeSchema),
    createdAt: timestampSchema,
    lastUsedAt: timestampSchema.nullable(),
    expiresAt: timestampSchema.nullable(),
    revokedAt: timestampSchema.nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof apiKeySchema>;

export const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().describe('The secret key. Shown only in this response.') })
  .meta({ id: 'CreatedApiKey' });
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

export const createApiKeySchema = z
  .strictObject({
    name: nameSchema,
    scopes: z
      .array(scopeSchema)
      .min(1)
      .max(4)
      .refine((list) => new Set(list).size === list.length, 'must not repeat a scope'),
    workspaceId: idSchema('workspace').optional(),
    expiresAt: timestampSchema.optional(),
  })
  .meta({ id: 'CreateApiKey' });
export type CreateApiKey = z.infer<typeof createApiKeySchema>;
