import { z } from 'zod';
import { errorCodes } from './errors.ts';

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const errorCodeSchema = z.enum(errorCodes);

export const timestampSchema = z.iso.datetime({ offset: true });

/** A reference to a stored secret by name; the value is resolved inside Runyard only when it is used. */
export const secretReferenceSchema = z.strictObject({
  secret: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a secret name ([A-Za-z0-9_.-], 1–128 characters)'),
});
export type SecretReference = z.infer<typeof secretReferenceSchema>;

export const paginationQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}

export const emptySchema = z.strictObject({});

export const metadataSchema = z
  .record(z.string().max(128), z.unknown())
  .refine((value) => JSON.stringify(value).length <= 16_384, 'must serialize to at most 16384 characters');

export const nameSchema = z.string().trim().min(1).max(200);
