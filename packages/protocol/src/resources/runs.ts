import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { metadataSchema, timestampSchema } from '../common.ts';
import { messagePartSchema } from './threads.ts';
import { approvalRuleSchema, requiredActionSchema } from './approvals.ts';

export const runStatuses = [
  'queued',
  'running',
  'requires_action',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export const runStatusSchema = z.enum(runStatuses);
export type RunStatus = z.infer<typeof runStatusSchema>;

/** A run in one of these statuses never changes again. */
export const finalRunStatuses = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];

export function isFinalRunStatus(status: RunStatus): boolean {
  return (finalRunStatuses as readonly RunStatus[]).includes(status);
}

export const usageSchema = z
  .object({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
    totalTokens: z.number().int().nonnegative(),
  })
  .meta({ id: 'Usage' });
export type Usage = z.infer<typeof usageSchema>;

export const runErrorSchema = z.object({ code: z.string(), message: z.string() }).meta({ id: 'RunError' });
export type RunError = z.infer<typeof runErrorSchema>;

export const runOutputSchema = z
  .object({
    text: z.string(),
    object: z.unknown().optional().describe('The parsed answer when the agent has an outputSchema.'),
  })
  .meta({ id: 'RunOutput' });
export type RunOutput = z.infer<typeof runOutputSchema>;

export const inputMessageSchema = z
  .strictObject({
    role: z.enum(['system', 'user', 'assistant']),
    content: z.string().max(1_000_000),
  })
  .meta({ id: 'InputMessage' });
export type InputMessage = z.infer<typeof inputMessageSchema>;

export const runModes = ['wait', 'stream', 'background'] as const;
export const runModeSchema = z.enum(runModes);
export type RunMode = z.infer<typeof runModeSchema>;

export const onConflictSchema = z.enum(['enqueue', 'reject', 'interrupt']);
export type OnConflict = z.infer<typeof onConflictSchema>;

export const runSchema = z
  .object({
    id: idSchema('run'),
    agentId: idSchema('agent'),
    agentVersion: z.number().int().positive(),
    threadId: idSchema('thread').nullable(),
    parentRunId: idSchema('run')
      .nullable()
      .describe('The run whose agent tool started this one (a child run); null for a top-level run.'),
    status: runStatusSchema,
    input: z.array(inputMessageSchema),
    output: runOutputSchema.nullable(),
    error: runErrorSchema.nullable(),
    usage: usageSchema,
    costUsd: z.number().nonnegative(),
    /** True when a model of the run has no price in the table: costUsd counts it as 0. */
    costIncomplete: z.boolean(),
    iterations: z.number().int().nonnegative(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: timestampSchema,
    startedAt: timestampSchema.nullable(),
    finishedAt: timestampSchema.nullable(),
    durationMs: z.number().int().nonnegative().nullable(),
    requiredAction: requiredActionSchema.describe(
      'What a run in requires_action waits for (approvals, or outputs of client tools); null otherwise.',
    ),
  })
  .meta({ id: 'Run' });
export type Run = z.infer<typeof runSchema>;

const runTargetFields = {
  input: z.union([z.string().min(1).max(1_000_000), z.array(inputMessageSchema).min(1).max(1000)]),
  threadId: idSchema('thread').optional(),
  stateless: z.boolean().optional(),
  environment: z.enum(['draft', 'staging', 'production']).optional(),
  version: z.number().int().positive().optional(),
  mode: runModeSchema.default('wait'),
  metadata: metadataSchema.optional(),
  callbackUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  callbackSecret: z.string().min(16).max(256).optional(),
  onConflict: onConflictSchema.default('enqueue'),
};

/** POST /v1/agents/{idOrSlug}/runs */
export const createAgentRunSchema = z.strictObject(runTargetFields).meta({ id: 'CreateAgentRun' });
export type CreateAgentRun = z.infer<typeof createAgentRunSchema>;

/** POST /v1/runs: the same, naming the agent in the body. */
export const createRunSchema = z
  .strictObject({ agent: z.string().min(1).max(128), ...runTargetFields })
  .meta({ id: 'CreateRun' });
export type CreateRun = z.infer<typeof createRunSchema>;

export const listRunsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  agent: z.string().max(128).optional(),
  thread: idSchema('thread').optional(),
  status: runStatusSchema.optional(),
  parent: idSchema('run').optional().describe('Only the child runs this run started.'),
});

export const listRunEventsQuerySchema = z.strictObject({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/**
 * `summary`: the model call that summarised thread history trimmed away before step 1 (step 0, no
 * text deltas, not an iteration); its usage counts in the run's. Absent on the agent's own steps.
 */
const stepKindSchema = z.literal('summary');

/** Every event shares these: its position in the run's log, its type and when it happened. */
const eventBase = { seq: z.number().int().positive(), at: timestampSchema };

/**
 * The run event log. Every stream format (Runyard SSE, compat surfaces) is rendered from it.
 * A step that is retried after a failed model call starts again with the same `step` and a higher
 * `attempt`: a renderer drops the text of the earlier attempt of that step.
 */
export const runEventSchema = z
  .discriminatedUnion('type', [
    z.object({
      ...eventBase,
      type: z.literal('run-start'),
      runId: idSchema('run'),
      agentId: idSchema('agent'),
      agentVersion: z.number().int(),
      threadId: idSchema('thread').nullable(),
      model: z.string(),
    }),
    z.object({
      ...eventBase,
      type: z.literal('step-start'),
      step: z.number().int(),
      attempt: z.number().int(),
      kind: stepKindSchema.optional(),
    }),
    z.object({ ...eventBase, type: z.literal('text-delta'), step: z.number().int(), delta: z.string() }),
    z.object({
      ...eventBase,
      type: z.literal('tool-call'),
      step: z.number().int(),
      toolCallId: z.string(),
      toolName: z.string(),
      input: z.unknown(),
    }),
    z.object({
      ...eventBase,
      type: z.literal('tool-result'),
      step: z.number().int(),
      toolCallId: z.string(),
      toolName: z.string(),
      output: z.unknown(),
      isError: z.boolean(),
      artifacts: z
        .array(idSchema('artifact'))
        .optional()
        .describe(
          'Run artifacts the call kept (a whole response body too large for the model); absent when none.',
        ),
    }),
    z.object({
      ...eventBase,
      type: z.literal('tool-progress'),
      /** A progress notification of a running tool call (MCP `notifications/progress`). */
      toolCallId: z.string(),
      toolName: z.string(),
      progress: z.number(),
      total: z.number().optional(),
      message: z.string().optional(),
    }),
    z.object({
      ...eventBase,
      type: z.literal('step-end'),
      step: z.number().int(),
      finishReason: z.string(),
      model: z.string(),
      usage: usageSchema,
      /** The assistant message of this step as stored in the thread (a summary's text is not). */
      content: z.array(messagePartSchema),
      kind: stepKindSchema.optional(),
    }),
    z.object({ ...eventBase, type: z.literal('usage'), usage: usageSchema, costUsd: z.number() }),
    z.object({
      ...eventBase,
      type: z.literal('policy-decision'),
      toolCallId: z.string(),
      toolName: z.string(),
      /** `tool:<name>`, or the URL of one outbound request without its query. */
      resource: z.string(),
      method: z.string(),
      effect: z.enum(['allow', 'deny', 'approval_required']),
      /** The policy of the deciding rule; null when no rule matched (the default). */
      policy: z.string().nullable(),
      ruleIndex: z.number().int().nullable(),
      reason: z.string(),
    }),
    z.object({
      ...eventBase,
      type: z.literal('approval-requested'),
      toolCallId: z.string(),
      toolName: z.string(),
      /** The tool call's arguments (`input` like a `tool-call` event's). */
      input: z.unknown(),
      approvalId: idSchema('approval'),
      rule: approvalRuleSchema,
      /** The child run whose call waits, when it is not this run's own (this run waits for it). */
      runId: idSchema('run').optional(),
    }),
    z.object({
      ...eventBase,
      type: z.literal('tool-outputs-requested'),
      /** Calls of `client` tools: the run waits for POST /v1/runs/{id}/tool-outputs. */
      toolCallIds: z.array(z.string()),
      calls: z.array(z.object({ toolCallId: z.string(), toolName: z.string(), input: z.unknown() })),
    }),
    z.object({
      ...eventBase,
      type: z.literal('approval-decided'),
      approvalId: idSchema('approval'),
      toolCallId: z.string(),
      status: z.enum(['approved', 'denied', 'expired']),
      scope: z.enum(['once', 'run', 'window']).nullable(),
      reason: z.string().nullable(),
      /** The child run whose call it was, when it is not this run's own. */
      runId: idSchema('run').optional(),
    }),
    z.object({
      ...eventBase,
      type: z.literal('error'),
      code: z.string(),
      message: z.string(),
      /** True when the engine retries (the same step, a fallback model); false when the run ends. */
      retrying: z.boolean(),
    }),
    z.object({
      ...eventBase,
      type: z.literal('child-run-start'),
      step: z.number().int(),
      toolCallId: z.string(),
      runId: idSchema('run'),
      agentId: idSchema('agent'),
    }),
    z.object({
      ...eventBase,
      type: z.literal('child-event'),
      toolCallId: z.string(),
      runId: idSchema('run'),
      /** One event of the child's own log (text deltas are not forwarded: the child's log has them). */
      event: z.record(z.string(), z.unknown()),
    }),
    z.object({
      ...eventBase,
      type: z.literal('child-run-end'),
      step: z.number().int(),
      toolCallId: z.string(),
      runId: idSchema('run'),
      status: runStatusSchema,
      error: runErrorSchema.nullable(),
      /** The child's usage and cost: they count in this run's (and its budgets). */
      usage: usageSchema,
      costUsd: z.number(),
    }),
    z.object({
      ...eventBase,
      type: z.literal('run-end'),
      status: runStatusSchema,
      output: runOutputSchema.nullable(),
      error: runErrorSchema.nullable(),
      usage: usageSchema,
      costUsd: z.number(),
    }),
  ])
  .meta({ id: 'RunEvent' });
export type RunEvent = z.infer<typeof runEventSchema>;
export type RunEventType = RunEvent['type'];
/** An event before the log numbers it. */
export type NewRunEvent = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, 'seq' | 'at'>
    : never
  : never;

export const runEventListSchema = z.object({ data: z.array(runEventSchema) });

/**
 * One attempt to POST an ended run to its `callbackUrl`. Failed attempts are retried with backoff
 * for up to 24 hours after the run ended; `nextAttemptAt` is set on a failed attempt that will be.
 */
export const runDeliverySchema = z
  .object({
    id: idSchema('delivery').describe('Also sent as the X-Runyard-Delivery-Id header of the attempt.'),
    runId: idSchema('run'),
    attempt: z.number().int().positive(),
    statusCode: z
      .number()
      .int()
      .nullable()
      .describe('The HTTP status the receiver answered; null when it did not answer.'),
    error: z.string().nullable().describe('Why the attempt failed; null when it was delivered.'),
    delivered: z.boolean().describe('True when the receiver answered 2xx.'),
    createdAt: timestampSchema,
    nextAttemptAt: timestampSchema
      .nullable()
      .describe('When the next attempt is due; null after a delivery or the last attempt.'),
  })
  .meta({ id: 'RunDelivery' });
export type RunDelivery = z.infer<typeof runDeliverySchema>;

export const runDeliveryListSchema = z.object({ data: z.array(runDeliverySchema) });

/**
 * A file a tool call kept for the run: the whole body of an http tool's response that was too large
 * for the model (the model saw its start and this id). Its bytes are served by
 * `GET /v1/runs/{runId}/artifacts/{artifactId}`.
 */
export const runArtifactSchema = z
  .object({
    id: idSchema('artifact'),
    runId: idSchema('run'),
    toolCallId: z.string().describe('The tool call that kept it.'),
    name: z.string().describe('What it is, e.g. `response-body`.'),
    contentType: z.string().describe('The Content-Type the bytes are served with.'),
    sizeBytes: z.number().int().nonnegative().describe('Bytes stored.'),
    truncated: z
      .boolean()
      .describe('True when the original was larger than RUNYARD_ARTIFACT_MAX_BYTES: only its start is kept.'),
    createdAt: timestampSchema,
  })
  .meta({ id: 'RunArtifact' });
export type RunArtifact = z.infer<typeof runArtifactSchema>;

export const runArtifactListSchema = z.object({ data: z.array(runArtifactSchema) });

/** The bytes of an artifact as served: any content type, so the schema only says "bytes". */
export const artifactContentSchema = z
  .custom<Uint8Array>((value) => value instanceof Uint8Array, 'must be bytes')
  .describe("The artifact's bytes, served with its content type.");
