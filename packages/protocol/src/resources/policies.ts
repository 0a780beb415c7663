import { z } from 'zod';
import { idSchema } from '../ids.ts';
import { timestampSchema } from '../common.ts';
import { maxApprovalWindowMs } from './approvals.ts';

/** A policy's name: what agents list in `policies` and invokes pass in `policies`. */
export const policyNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 characters of A-Z, a-z, 0-9, _ and -');

export const policyEffects = ['allow', 'deny', 'approval_required'] as const;
export const policyEffectSchema = z.enum(policyEffects);
export type PolicyEffect = z.infer<typeof policyEffectSchema>;

export const policyMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', '*'] as const;

/**
 * The predicate language of `conditions`: `path` is a dotted path into the tool's input
 * (`amount`, `customer.country`, `items.0.sku`). `lt`…`gte` compare two numbers or two strings;
 * `eq`/`ne` compare JSON values; `in` needs an array `value`; `matches` a glob string (`*`, `?`).
 * The symbolic forms (`==`, `!=`, `<`, `<=`, `>`, `>=`) are accepted and mean the same.
 */
export const conditionOperators = [
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'matches',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
] as const;

export const policyConditionSchema = z
  .strictObject({
    path: z
      .string()
      .regex(
        /^[A-Za-z0-9_$-]{1,64}(\.[A-Za-z0-9_$-]{1,64}){0,15}$/,
        'must be a dotted path into the tool input, e.g. amount or customer.country',
      ),
    op: z.enum(conditionOperators),
    value: z.unknown(),
  })
  .superRefine((condition, context) => {
    const { op, value } = condition;
    const problem = (message: string) => context.addIssue({ code: 'custom', path: ['value'], message });
    if (value === undefined) problem('is required');
    else if (op === 'in' && !Array.isArray(value)) problem("must be an array for 'in'");
    else if (op === 'matches' && typeof value !== 'string') problem("must be a glob string for 'matches'");
    else if (['lt', 'lte', 'gt', 'gte', '<', '<=', '>', '>='].includes(op)) {
      if (typeof value !== 'number' && typeof value !== 'string') {
        problem(`must be a number or a string for '${op}'`);
      }
    }
  })
  .meta({ id: 'PolicyCondition' });
export type PolicyCondition = z.infer<typeof policyConditionSchema>;

/**
 * A URL glob (`https://api.stripe.com/**`: `*` within one path segment or host label, `**` across
 * segments; matched against scheme, host, port and path, never the query) or `tool:<name glob>`.
 */
const resourceSchema = z
  .string()
  .min(1)
  .max(2048)
  .refine(
    (value) =>
      /^tool:[A-Za-z0-9_.*?-]{1,130}$/.test(value) || /^https?:\/\/[^/\s?#@]+(\/[^\s?#]*)?$/.test(value),
    'must be a URL glob like https://api.example.com/** or tool:<name glob>',
  );

export const policyRuleSchema = z
  .strictObject({
    effect: policyEffectSchema,
    resource: resourceSchema,
    operations: z
      .array(z.enum(policyMethods))
      .min(1)
      .max(8)
      .default(['*'])
      .describe('HTTP methods, or ["*"]. Only ["*"] for tool: rules.'),
    conditions: z.array(policyConditionSchema).max(16).optional(),
  })
  .superRefine((rule, context) => {
    if (rule.resource.startsWith('tool:') && rule.operations.some((operation) => operation !== '*')) {
      context.addIssue({
        code: 'custom',
        path: ['operations'],
        message: 'a tool: rule applies to the whole call: operations must be ["*"]',
      });
    }
  })
  .meta({ id: 'PolicyRule' });
export type PolicyRule = z.infer<typeof policyRuleSchema>;

const rulesSchema = z.array(policyRuleSchema).max(200);

/**
 * Who decides the approvals of some tools, for the runs bound to the policy: only the named API
 * keys may approve or deny them, and a `window` grant lasts `defaultDurationMs` unless the
 * approver says otherwise (docs/architecture/approvals.md#approval-routes).
 */
export const approvalRouteSchema = z
  .strictObject({
    tools: z
      .array(z.string().regex(/^[A-Za-z0-9_.:*-]{1,128}$/, 'must be a tool name or "*"'))
      .min(1)
      .max(100)
      .describe('The tools (by name) whose approvals this route decides; "*" for every tool.'),
    approvers: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(100)
      .describe('The API keys, by id (key_…) or by name, that may decide them.'),
    defaultDurationMs: z
      .number()
      .int()
      .min(1)
      .max(maxApprovalWindowMs)
      .optional()
      .describe('How long a window grant lasts when the approver gives no durationMs (else 4 hours).'),
  })
  .meta({ id: 'ApprovalRoute' });
export type ApprovalRoute = z.infer<typeof approvalRouteSchema>;

const approvalRoutesSchema = z.array(approvalRouteSchema).max(50);

export const createPolicySchema = z
  .strictObject({
    name: policyNameSchema,
    description: z.string().max(2000).default(''),
    rules: rulesSchema,
    approvalRoutes: approvalRoutesSchema.default([]),
  })
  .meta({ id: 'CreatePolicy' });
export type CreatePolicy = z.infer<typeof createPolicySchema>;

export const updatePolicySchema = z
  .strictObject({
    description: z.string().max(2000).optional(),
    rules: rulesSchema.optional(),
    approvalRoutes: approvalRoutesSchema.optional(),
  })
  .meta({ id: 'UpdatePolicy' });
export type UpdatePolicy = z.infer<typeof updatePolicySchema>;

export const policySchema = z
  .object({
    id: idSchema('policy'),
    name: z.string(),
    description: z.string(),
    rules: z.array(policyRuleSchema),
    approvalRoutes: z.array(approvalRouteSchema),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: 'Policy' });
export type Policy = z.infer<typeof policySchema>;

/** One policy decision: a tool call, or one outbound request of a network tool. */
export const auditEntrySchema = z
  .object({
    id: idSchema('audit'),
    runId: idSchema('run').nullable().describe('null for a direct invoke.'),
    agentId: idSchema('agent').nullable(),
    toolCallId: z.string(),
    toolName: z.string(),
    resource: z.string().describe('tool:<name>, or the URL without its query.'),
    method: z.string(),
    effect: policyEffectSchema,
    policy: z.string().nullable().describe('The policy of the deciding rule; null for a default.'),
    ruleIndex: z.number().int().nullable(),
    reason: z.string(),
    createdAt: timestampSchema,
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const listAuditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  runId: idSchema('run').optional(),
  agent: z.string().min(1).max(128).optional().describe('An agent id or slug (as GET /v1/runs takes it).'),
  effect: policyEffectSchema.optional(),
  since: timestampSchema.optional(),
});
