import { z } from 'zod';
import { agentSchema } from './agents.ts';

/** The slug of the agent the starter kit creates. */
export const starterAgentSlug = 'demo';

/**
 * POST /v1/starter-kit: the demo agent of the caller's workspace. `created` is false when it
 * already existed, whatever it has become since (the starter kit never overwrites it).
 */
export const starterKitResultSchema = z
  .object({ agent: agentSchema, created: z.boolean() })
  .meta({ id: 'StarterKitResult' });
export type StarterKitResult = z.infer<typeof starterKitResultSchema>;
