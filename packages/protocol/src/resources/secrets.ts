import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { timestampSchema } from '../common.ts';

export const secretNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1–128 characters of A-Z, a-z, 0-9, _ . -');

const secretValueSchema = z.string().min(1).max(65_536);

export const secretSchema = z
  .object({
    id: idSchema('secret'),
    name: z.string(),
    fingerprint: z.string().describe('A keyed hash of the value: equal values have equal fingerprints.'),
    version: z.number().int().positive(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Secret' });
export type Secret = z.infer<typeof secretSchema>;

export const createSecretSchema = z
  .strictObject({ name: secretNameSchema, value: secretValueSchema })
  .meta({ id: 'CreateSecret' });
export type CreateSecret = z.infer<typeof createSecretSchema>;

export const rotateSecretSchema = z.strictObject({ value: secretValueSchema }).meta({ id: 'RotateSecret' });
export type RotateSecret = z.infer<typeof rotateSecretSchema>;
