import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { createPolicySchema, policyMethods, policyNameSchema, type Policy } from '@runyard/protocol';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { RunagentsError } from './errors.ts';
import { addRoute, assertSameNamespace, unlessNotFound } from './routing.ts';
import { listQuerySchema } from './tool-routes.ts';

const ruleSchema = z.strictObject({
  permission: z.enum(['allow', 'deny', 'approval_required']),
  /** A URL glob (`https://api.stripe.com/**`) or `tool:<name glob>`, as Runyard's rules take them. */
  resource: z.string().min(1).max(2048),
  operations: z.array(z.enum(policyMethods)).min(1).max(8).default(['*']),
});

const approvalRouteSchema = z.strictObject({
  toolIds: z.array(z.string().min(1).max(128)).max(100),
  approvers: z.array(z.string().min(1).max(256)).max(100),
  defaultDuration: z.string().max(32).optional(),
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
      approvals: [],
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
      if ((body.spec?.approvals.length ?? 0) > 0) {
        // Approval routing (who approves, the default window) needs the approvals service.
        throw new RunagentsError(
          422,
          'not_supported',
          'spec.approvals: approval routes are not supported on this server yet; send the rules alone',
        );
      }
      const rules = (body.spec?.rules ?? body.rules ?? []).map((rule) => ({
        effect: rule.permission,
        resource: rule.resource,
        operations: rule.operations,
      }));
      const existing = await unlessNotFound(services.policies.get(context.caller, body.name));
      const input = { name: body.name, description: body.description ?? '', rules };
      const policy =
        existing === undefined
          ? await services.policies.create(context.caller, parsePolicy(input))
          : await services.policies.update(context.caller, body.name, parsePolicy(input));
      return {
        status: existing === undefined ? 201 : 200,
        body: toRunagentsPolicy(policy, context.namespace),
      };
    },
  });
}

/** Runyard's own rule checks (resource globs, tool: rules) report at `rules.<index>…`. */
function parsePolicy(input: { name: string; description: string; rules: unknown[] }) {
  return parseOrThrow(createPolicySchema, input, 'body');
}
