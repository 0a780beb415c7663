import { z } from 'zod';
import { timestampSchema } from '../common.ts';
import { idSchema } from '../ids.ts';

export const approvalStatuses = ['pending', 'approved', 'denied', 'expired'] as const;
export const approvalStatusSchema = z.enum(approvalStatuses);
export type ApprovalStatus = z.infer<typeof approvalStatusSchema>;

export const approvalScopes = ['once', 'run', 'window'] as const;
export const approvalScopeSchema = z.enum(approvalScopes);
export type ApprovalScope = z.infer<typeof approvalScopeSchema>;

/** The rule whose `approval_required` decision paused the call. */
export const approvalRuleSchema = z
  .object({
    policy: z.string().nullable(),
    ruleIndex: z.number().int().nullable(),
    /** `tool:<name>`, or the URL of the outbound request without its query. */
    resource: z.string(),
    method: z.string(),
  })
  .meta({ id: 'ApprovalRule' });
export type ApprovalRule = z.infer<typeof approvalRuleSchema>;

export const approvalSchema = z
  .object({
    id: idSchema('approval'),
    runId: idSchema('run'),
    agentId: idSchema('agent'),
    toolCallId: z.string(),
    toolName: z.string(),
    arguments: z.unknown().describe('The arguments the model gave the tool call.'),
    rule: approvalRuleSchema,
    status: approvalStatusSchema,
    scope: approvalScopeSchema.nullable().describe('How far an approval reaches; null unless approved.'),
    decidedBy: z.string().nullable().describe('The id of the API key that decided; null otherwise.'),
    reason: z.string().nullable().describe('Why it was denied or expired.'),
    editedArguments: z
      .unknown()
      .optional()
      .describe('The arguments the approver replaced the model’s with, if any.'),
    expiresAt: timestampSchema.describe('When a pending approval expires (and counts as denied).'),
    createdAt: timestampSchema,
    decidedAt: timestampSchema.nullable(),
  })
  .meta({ id: 'Approval' });
export type Approval = z.infer<typeof approvalSchema>;

export const listApprovalsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  status: approvalStatusSchema.optional(),
  runId: idSchema('run')
    .optional()
    .describe('Approvals of this run and of the child runs it started (agent tools).'),
  agent: z.string().min(1).max(128).optional().describe('An agent id or slug.'),
});

/** The longest a `window` grant may last: 30 days. */
export const maxApprovalWindowMs = 30 * 24 * 60 * 60 * 1000;

export const approveApprovalSchema = z
  .strictObject({
    scope: approvalScopeSchema.default('once'),
    durationMs: z
      .number()
      .int()
      .min(1)
      .max(maxApprovalWindowMs)
      .optional()
      .describe('How long a `window` grant lasts (default 4 hours); only with scope window.'),
    arguments: z
      .unknown()
      .optional()
      .describe('Replaces the model’s arguments for this call; validated against the tool’s input schema.'),
  })
  .meta({ id: 'ApproveApproval' });
export type ApproveApproval = z.infer<typeof approveApprovalSchema>;

export const denyApprovalSchema = z
  .strictObject({
    reason: z.string().min(1).max(2000).optional().describe('Told to the model as the tool result.'),
  })
  .meta({ id: 'DenyApproval' });
export type DenyApproval = z.infer<typeof denyApprovalSchema>;

/** POST /v1/runs/{runId}/tool-outputs: results of `client` tool calls, executed by the caller. */
export const submitToolOutputsSchema = z
  .strictObject({
    outputs: z
      .array(
        z.strictObject({
          toolCallId: z.string().min(1).max(200),
          output: z.unknown(),
          isError: z.boolean().optional().describe('True when the output is an error message.'),
        }),
      )
      .min(1)
      .max(128),
  })
  .meta({ id: 'SubmitToolOutputs' });
export type SubmitToolOutputs = z.infer<typeof submitToolOutputsSchema>;

/** What a run in `requires_action` waits for; null in every other status. */
export const requiredActionSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('tool_outputs'),
      toolCalls: z.array(z.object({ toolCallId: z.string(), toolName: z.string(), input: z.unknown() })),
    }),
    z.object({
      type: z.literal('approval'),
      approvals: z
        .array(idSchema('approval'))
        .describe('Pending approvals of this run, or of a child run it waits for.'),
    }),
  ])
  .nullable()
  .meta({ id: 'RequiredAction' });
export type RequiredAction = z.infer<typeof requiredActionSchema>;
