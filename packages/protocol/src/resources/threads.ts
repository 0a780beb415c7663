import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { metadataSchema, timestampSchema } from '../common.ts';

export const threadSchema = z
  .object({
    id: idSchema('thread'),
    title: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Thread' });
export type Thread = z.infer<typeof threadSchema>;

export const createThreadSchema = z
  .strictObject({
    title: z.string().trim().min(1).max(500).optional(),
    metadata: metadataSchema.optional(),
  })
  .meta({ id: 'CreateThread' });
export type CreateThread = z.infer<typeof createThreadSchema>;

export const updateThreadSchema = z
  .strictObject({
    title: z.string().trim().min(1).max(500).nullable().optional(),
    metadata: metadataSchema.optional(),
  })
  .meta({ id: 'UpdateThread' });
export type UpdateThread = z.infer<typeof updateThreadSchema>;

/**
 * The parts of a stored message, provider-neutral. A tool call and its result share `toolCallId`;
 * history trimming never separates them.
 */
export const messagePartSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('text'), text: z.string() }),
    z.object({
      type: z.literal('tool-call'),
      toolCallId: z.string(),
      toolName: z.string(),
      input: z.unknown(),
    }),
    z.object({
      type: z.literal('tool-result'),
      toolCallId: z.string(),
      toolName: z.string(),
      output: z.unknown(),
      isError: z.boolean(),
    }),
  ])
  .meta({ id: 'MessagePart' });
export type MessagePart = z.infer<typeof messagePartSchema>;

export const messageRoles = ['system', 'user', 'assistant', 'tool'] as const;
export const messageRoleSchema = z.enum(messageRoles);
export type MessageRole = z.infer<typeof messageRoleSchema>;

export const messageSchema = z
  .object({
    id: idSchema('message'),
    threadId: idSchema('thread').nullable(),
    runId: idSchema('run').nullable(),
    role: messageRoleSchema,
    content: z.array(messagePartSchema),
    createdAt: timestampSchema,
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof messageSchema>;

export const listMessagesQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
});
