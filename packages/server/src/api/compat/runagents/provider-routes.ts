import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { providerNameSchema, type CreateProvider, type Provider } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { parseOrThrow } from '../../validation.ts';
import { badRequest } from './errors.ts';
import { renamed, withSurfaceFields, type FieldRename } from './field-names.ts';
import { addRoute, assertSameNamespace } from './routing.ts';
import { listQuerySchema } from './tool-routes.ts';

/** `POST /api/model-providers`: runagents' fields; the credential is a Runyard secret's name. */
const providerBodySchema = z.strictObject({
  name: providerNameSchema,
  namespace: z.string().max(200).optional(),
  /** openai, anthropic, playground; any other (ollama, vllm, …) speaks the OpenAI API at `endpoint`. */
  provider: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a provider type such as openai, anthropic or ollama'),
  endpoint: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  models: z.array(z.string().min(1).max(200).regex(/^\S+$/, 'must not contain spaces')).max(500).default([]),
  auth: z.strictObject({ secretRef: z.string().min(1).max(128) }).optional(),
  rateLimit: z.strictObject({ requestsPerMinute: z.number().int().min(1).max(1_000_000) }).optional(),
});
type ProviderBody = z.infer<typeof providerBodySchema>;

/** Runyard's provider fields in the terms of `POST /api/model-providers`. */
const providerRenames: readonly FieldRename[] = [
  renamed('apiKey.secret', 'auth.secretRef'),
  renamed('apiKey', 'auth.secretRef'),
  renamed('baseUrl', 'endpoint'),
  renamed('requestsPerMinute', 'rateLimit.requestsPerMinute'),
  renamed('kind', 'provider'),
];

function toCreateProvider(body: ProviderBody): CreateProvider {
  const kind =
    body.provider === 'openai' ? 'openai' : body.provider === 'anthropic' ? 'anthropic' : 'openai-compatible';
  if (kind === 'openai-compatible' && body.endpoint === undefined) {
    throw badRequest(`endpoint: is required for provider '${body.provider}' (an OpenAI-compatible API)`);
  }
  return {
    name: body.name,
    kind,
    models: body.models,
    ...(body.endpoint !== undefined && { baseUrl: body.endpoint }),
    ...(body.auth !== undefined && { apiKey: { secret: body.auth.secretRef } }),
    ...(body.rateLimit !== undefined && { requestsPerMinute: body.rateLimit.requestsPerMinute }),
  };
}

/** The runagents surface's name in the provider-type references (core `surfaceKinds`). */
const surface = 'runagents';

/**
 * The type each provider was created as (`ollama`), else its Runyard kind: what a client sent is
 * what it reads back.
 */
export async function providerTypes(services: Services, caller: Caller, providers: readonly Provider[]) {
  const named = await services.providers.surfaceKinds(
    caller,
    surface,
    providers.map((provider) => provider.id),
  );
  return new Map(providers.map((provider) => [provider.id, named.get(provider.id) ?? provider.kind]));
}

export function toRunagentsProvider(provider: Provider, namespace: string, type: string) {
  return {
    name: provider.name,
    namespace,
    provider: type,
    endpoint: provider.baseUrl,
    models: provider.models,
    auth: provider.apiKey === null ? null : { secretRef: provider.apiKey.secret },
    rateLimit: provider.requestsPerMinute === null ? null : { requestsPerMinute: provider.requestsPerMinute },
    built_in: provider.builtIn,
    created_at: provider.createdAt,
    updated_at: provider.updatedAt,
  };
}

export function registerProviderRoutes(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'listModelProviders',
    handler: async ({ caller, namespace, request }) => {
      const { limit } = parseOrThrow(listQuerySchema, request.query ?? {}, 'query');
      const page = await services.providers.list(caller, { limit });
      const types = await providerTypes(services, caller, page.data);
      return {
        body: page.data.map((provider) =>
          toRunagentsProvider(provider, namespace, types.get(provider.id) ?? provider.kind),
        ),
      };
    },
  });

  addRoute(app, services, {
    operationId: 'createModelProvider',
    handler: async (context) => {
      const body = parseOrThrow(providerBodySchema, context.request.body, 'body');
      assertSameNamespace(context, body.namespace, 'namespace');
      if (body.provider === 'playground') {
        const { provider } = await services.providers.ensurePlayground(context.caller, body.name);
        return { status: 201, body: toRunagentsProvider(provider, context.namespace, provider.kind) };
      }
      const input = toCreateProvider(body);
      // A type Runyard knows by another kind (ollama → openai-compatible) is kept to be shown back.
      const provider = await withSurfaceFields(providerRenames, () =>
        services.providers.create(
          context.caller,
          input,
          input.kind === body.provider ? {} : { surfaceKind: { surface, kind: body.provider } },
        ),
      );
      return { status: 201, body: toRunagentsProvider(provider, context.namespace, body.provider) };
    },
  });
}
