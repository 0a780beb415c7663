import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { nameSchema, timestampSchema } from '../common.ts';

export const workspaceSchema = z
  .object({
    id: idSchema('workspace'),
    name: z.string(),
    teamId: z.number().int().positive(),
    createdAt: timestampSchema,
  })
  .meta({ id: 'Workspace' });
export type Workspace = z.infer<typeof workspaceSchema>;

export const createWorkspaceSchema = z.strictObject({ name: nameSchema }).meta({ id: 'CreateWorkspace' });
export type CreateWorkspace = z.infer<typeof createWorkspaceSchema>;
