import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { createPolicySchema, policyMethods, policyNameSchema, type Policy } from '@runyard/protocol';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { formatDuration, durationSchema } from './durations.ts';
import { renamed, withSurfaceFields, type FieldRename } from './field-names.ts';
import { addRoute, assertSameNamespace } from './routing.ts';
import { unlessNotFound } from '../compat-routes.ts';
import { listQuerySchema } from './tool-routes.ts';

const ruleSchema = z.strictObject({
  permission: z.enum(['allow', 'deny', 'approval_required']),
  /** A URL glob (`https://api.stripe.com/**`) or `tool:<name glob>`, as Runyard's rules take them. */
  resource: z.string().min(1).max(2048),
  operations: z.array(z.enum(policyMethods)).min(1).max(8).default(['*']),
});

/** Who decides the approvals of these tools (API keys by id or name), and a window grant's default length. */
const approvalRouteSchema = z.strictObject({
  toolIds: z.array(z.string().min(1).max(128)).min(1).max(100),
  approvers: z.array(z.string().min(1).max(200)).min(1).max(100),
  defaultDuration: durationSchema.optional(),
});

/** `POST /api/policies`: `{name, spec: {rules, approvals}}`; the flat form `{name, rules}` too. */
const policyBodySchema = z.strictObject({
  name: policyNameSchema,
  namespace: z.string().max(200).optional(),
  description: z.string().max(2000).optional(),
  spec: z
    .strictObject({
      rules: z.array(ruleSchema).max(200).default([]),
      approvals: z.array(approvalRouteSchema).max(50).default([]),
    })
    .optional(),
  rules: z.array(ruleSchema).max(200).optional(),
});

export function toRunagentsPolicy(policy: Policy, namespace: string) {
  return {
    name: policy.name,
    namespace,
    description: policy.description,
    spec: {
      rules: policy.rules.map((rule) => ({
        permission: rule.effect,
        resource: rule.resource,
        operations: rule.operations,
      })),
      approvals: policy.approvalRoutes.map((route) => ({
        toolIds: route.tools,
        approvers: route.approvers,
        ...(route.defaultDurationMs !== undefined && {
          defaultDuration: formatDuration(route.defaultDurationMs),
        }),
      })),
    },
    created_at: policy.createdAt,
    updated_at: policy.updatedAt,
  };
}

export function registerPolicyRoutes(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'listPolicies',
    handler: async ({ caller, namespace, request }) => {
      const { limit } = parseOrThrow(listQuerySchema, request.query ?? {}, 'query');
      const page = await services.policies.list(caller, { limit });
      return { body: page.data.map((policy) => toRunagentsPolicy(policy, namespace)) };
    },
  });

  /** Idempotent by name, like the other resources: an existing policy takes the given rules. */
  addRoute(app, services, {
    operationId: 'createPolicy',
    handler: async (context) => {
      const body = parseOrThrow(policyBodySchema, context.request.body, 'body');
      assertSameNamespace(context, body.namespace, 'namespace');
      const rules = (body.spec?.rules ?? body.rules ?? []).map((rule) => ({
        effect: rule.permission,
        resource: rule.resource,
        operations: rule.operations,
      }));
      const approvalRoutes = (body.spec?.approvals ?? []).map((route) => ({
        tools: route.toolIds,
        approvers: route.approvers,
        ...(route.defaultDuration !== undefined && { defaultDurationMs: route.defaultDuration }),
      }));
      const input = { name: body.name, description: body.description ?? '', rules, approvalRoutes };
      const policy = await withSurfaceFields(
        policyRenames(body.spec === undefined ? '' : 'spec.'),
        async () => {
          const checked = parseOrThrow(createPolicySchema, input, 'body');
          const existing = await unlessNotFound(services.policies.get(context.caller, body.name));
          return {
            created: existing === undefined,
            policy:
              existing === undefined
                ? await services.policies.create(context.caller, checked)
                : await services.policies.update(context.caller, body.name, checked),
          };
        },
      );
      return {
        status: policy.created ? 201 : 200,
        body: toRunagentsPolicy(policy.policy, context.namespace),
      };
    },
  });
}

/** Runyard's policy fields (its own rule checks report at `rules.<index>…`) in the request's terms. */
function policyRenames(prefix: string): FieldRename[] {
  return [
    renamed('rules.#.effect', `${prefix}rules.#.permission`),
    renamed('rules', `${prefix}rules`),
    renamed('approvalRoutes.#.tools', 'spec.approvals.#.toolIds'),
    renamed('approvalRoutes.#.defaultDurationMs', 'spec.approvals.#.defaultDuration'),
    renamed('approvalRoutes', 'spec.approvals'),
  ];
}
