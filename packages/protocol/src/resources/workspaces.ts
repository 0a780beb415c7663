import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { nameSchema, timestampSchema } from '../common.ts';
import { modelReferenceSchema } from './agents.ts';

/** Make's team ids are 32-bit integers; so is the column that keeps them. */
const teamIdSchema = z.number().int().positive().max(2_147_483_647);

export const workspaceSchema = z
  .object({
    id: idSchema('workspace'),
    name: z.string(),
    teamId: teamIdSchema.describe(
      'Unique in the instance: the teamId of the Make surface (set by an instance administrator).',
    ),
    defaultModel: z
      .string()
      .nullable()
      .describe(
        'The "provider/model" an agent uses when its definition names no model (a runagents deploy without llm_configs); null when unset. The starter kits set "playground/playground" when it is unset.',
      ),
    createdAt: timestampSchema,
  })
  .meta({ id: 'Workspace' });
export type Workspace = z.infer<typeof workspaceSchema>;

export const createWorkspaceSchema = z.strictObject({ name: nameSchema }).meta({ id: 'CreateWorkspace' });
export type CreateWorkspace = z.infer<typeof createWorkspaceSchema>;

export const updateWorkspaceSchema = z
  .strictObject({
    teamId: teamIdSchema
      .optional()
      .describe(
        'The Make teamId, so a Make client keeps its own after moving over (instance administrators only).',
      ),
    defaultModel: modelReferenceSchema
      .nullable()
      .optional()
      .describe('A "provider/model" whose provider exists in the workspace; null unsets it.'),
  })
  .meta({ id: 'UpdateWorkspace' });
export type UpdateWorkspace = z.infer<typeof updateWorkspaceSchema>;
