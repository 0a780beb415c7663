import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { upsertAgentSchema, type Agent, type AgentConfig, type UpsertAgent } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { hasErrorCode } from '../../../shared/errors.ts';
import { retryOnConflict } from '../../../shared/retry-on-conflict.ts';
import { parseOrThrow } from '../../validation.ts';
import {
  agentNameSchema,
  envEntrySchema,
  llmConfigSchema,
  metadataWith,
  type EnvEntry,
  type LlmConfig,
} from './agent-fields.ts';
import { RunagentsError, badRequest } from './errors.ts';
import { renamed, withSurfaceFields, type FieldRename } from './field-names.ts';
import { providerTypes } from './provider-routes.ts';
import { addRoute, assertSameNamespace, type RouteContext } from './routing.ts';
import { unlessNotFound } from '../compat-routes.ts';
import { accessPolicyName, deployToolRenames, deployToolSchema, fromDeployTool } from './tool-fields.ts';
import { upsertTool } from './tool-routes.ts';

const nameListSchema = z.array(z.string().min(1).max(128)).max(128);

/** `POST /api/deploy`: every documented field. `agent_name` is checked after, for the documented message. */
const deployBodySchema = z.strictObject({
  agent_name: z.unknown().optional(),
  namespace: z.string().max(200).optional(),
  image: z.string().min(1).max(2048).optional(),
  source_files: z.record(z.string().max(1024), z.string()).optional(),
  artifact_id: z.string().min(1).max(200).optional(),
  draft_id: z.string().min(1).max(200).optional(),
  system_prompt: z.string().max(200_000).optional(),
  required_tools: nameListSchema.default([]),
  tool_url_mappings: z.record(z.string().max(2048), z.string().max(128)).optional(),
  tools_to_create: z.array(deployToolSchema).max(64).default([]),
  /** Optional: without it (or empty) the agent uses the workspace's default model. */
  llm_configs: z.array(llmConfigSchema).max(16).default([]),
  env: z.array(envEntrySchema).max(200).default([]),
  requirements: z.string().max(100_000).optional(),
  entry_point: z.string().max(1024).optional(),
  framework: z.string().max(100).optional(),
  identity_provider: z.string().max(200).optional(),
  policies: nameListSchema.default([]),
});
type DeployBody = z.infer<typeof deployBodySchema>;

/** A concurrent writer changed the agent between our read and our write: read and apply again. */
const maxUpsertAttempts = 5;

export function registerDeployRoute(app: FastifyInstance, services: Services): void {
  addRoute(app, services, {
    operationId: 'deploy',
    handler: async (context) => {
      const body = parseOrThrow(deployBodySchema, context.request.body ?? {}, 'body');
      if (body.agent_name === undefined || body.agent_name === null || body.agent_name === '') {
        throw badRequest('Missing required fields: agent_name');
      }
      const agentName = parseOrThrow(z.object({ agent_name: agentNameSchema }), body, 'body').agent_name;
      assertSameNamespace(context, body.namespace, 'namespace');
      const codeSources = (['image', 'source_files', 'artifact_id', 'draft_id'] as const).filter(
        (field) => body[field] !== undefined,
      );
      if (codeSources.length > 0) {
        throw new RunagentsError(
          422,
          'code_deployment_unavailable',
          `code deployment (${codeSources.join(', ')}) is not available on this server yet; deploy a prompt agent (system_prompt and llm_configs, no code) instead`,
          { sources: codeSources },
        );
      }
      if (body.system_prompt === undefined) {
        throw badRequest(
          'No valid deploy source (image, source_files, artifact_id): give one, or system_prompt for a prompt agent',
        );
      }
      return deployPromptAgent(services, context, agentName, body);
    },
  });
}

/**
 * A prompt agent: its tools (created or brought up to date), then the agent (created or updated
 * by name, keeping what only Runyard has). Every step is idempotent, so the same deploy again
 * changes nothing and a deploy that failed midway is completed by sending it again.
 */
async function deployPromptAgent(
  services: Services,
  context: RouteContext,
  agentName: string,
  body: DeployBody,
) {
  const { caller } = context;
  const toolsCreated: string[] = [];
  for (const [index, tool] of body.tools_to_create.entries()) {
    const { created } = await upsertTool(
      services,
      caller,
      fromDeployTool(tool, index),
      deployToolRenames(index),
    );
    if (created) toolsCreated.push(tool.name);
  }
  const tools = [...new Set([...body.required_tools, ...body.tools_to_create.map((tool) => tool.name)])];
  const accessPolicies = await existingAccessPolicies(services, caller, tools);
  const policies = [...new Set([...body.policies, ...accessPolicies])];
  const model = await withSurfaceFields(llmConfigRenames, () =>
    resolveChatModel(services, caller, body.llm_configs),
  );
  const env = envOf(body.env);
  const renames = agentRenames(body, tools, policies);
  const upsertOnce = async (): Promise<{ action: string; agent: Agent }> => {
    const existing = await unlessNotFound(services.agents.get(caller, agentName));
    const metadata = metadataWith(existing?.metadata ?? {}, {
      llmConfigs: body.llm_configs,
      identityProvider: body.identity_provider ?? null,
    });
    return withSurfaceFields(renames, () => {
      const input: UpsertAgent = parseOrThrow(
        upsertAgentSchema,
        {
          name: existing?.name ?? agentName,
          description: existing?.description ?? '',
          ...(existing !== undefined && {
            category: existing.category ?? undefined,
            subcategory: existing.subcategory ?? undefined,
            tags: existing.tags,
            status: existing.status,
            outputSchema: existing.outputSchema,
            settings: existing.settings,
          }),
          metadata,
          model,
          instructions: body.system_prompt ?? '',
          tools,
          policies,
          env,
        } satisfies UpsertAgent,
        'body',
      );
      return services.agents.upsert(caller, agentName, input, existing?.etag);
    });
  };
  const outcome = await retryOnConflict(
    { maxAttempts: maxUpsertAttempts, lostRace: (error) => hasErrorCode(error, 'PRECONDITION_FAILED') },
    upsertOnce,
  );
  return {
    status: outcome.action === 'created' ? 201 : 200,
    body: {
      agent: outcome.agent.slug,
      namespace: context.namespace,
      tools_created: toolsCreated,
      execution_mode: 'PROMPT_AGENT',
      build_required: false,
      build_profile: 'none',
      decision_reason:
        'system_prompt without code: a prompt agent runs in the platform agent loop, nothing to build',
      action: outcome.action,
      version: outcome.agent.version,
      policies,
    },
  };
}

async function existingAccessPolicies(services: Services, caller: Caller, tools: readonly string[]) {
  const found = await Promise.all(
    tools.map(async (tool) => {
      const name = accessPolicyName(tool);
      return (await unlessNotFound(services.policies.get(caller, name))) === undefined ? [] : [name];
    }),
  );
  return found.flat();
}

/**
 * The `provider/model` of the chat config: `provider` names a model provider of the namespace, or
 * a provider type (openai, anthropic, ollama: as created) of which exactly one provider serves the
 * model. Without configs: the workspace's default model (documented: `llm_configs` is optional).
 */
async function resolveChatModel(
  services: Services,
  caller: Caller,
  configs: readonly LlmConfig[],
): Promise<string> {
  if (configs.length === 0) {
    const { defaultModel } = await services.workspaces.get(caller, caller.workspaceId);
    if (defaultModel === null) {
      throw badRequest(
        'llm_configs: none given, and this namespace has no default model; give llm_configs, run POST /api/starter-kit (which sets playground/playground), or set one with PATCH /v1/workspaces/{id} {"defaultModel": "provider/model"}',
      );
    }
    return defaultModel;
  }
  const chat = configs.find((config) => config.role === 'chat');
  if (chat === undefined) {
    throw badRequest('llm_configs: a prompt agent needs a config with role chat (the default role)');
  }
  const named = await unlessNotFound(services.providers.get(caller, chat.provider));
  if (named !== undefined) return `${named.name}/${chat.model}`;
  const page = await services.providers.list(caller, { limit: 200 });
  const types = await providerTypes(services, caller, page.data);
  const ofType = page.data.filter((provider) => types.get(provider.id) === chat.provider);
  const serving = ofType.filter((provider) => provider.models.includes(chat.model));
  const chosen = serving.length === 1 ? serving[0] : ofType.length === 1 ? ofType[0] : undefined;
  if (chosen === undefined) {
    throw badRequest(
      ofType.length === 0
        ? `llm_configs: no model provider named or of type '${chat.provider}' exists in this namespace; register one with POST /api/model-providers`
        : `llm_configs: several model providers of type '${chat.provider}' exist; name one (${ofType.map((provider) => provider.name).join(', ')})`,
    );
  }
  return `${chosen.name}/${chat.model}`;
}

/** The chat config's model, when a core check refuses it (`model`), is `llm_configs`. */
const llmConfigRenames: readonly FieldRename[] = [renamed('model', 'llm_configs')];

/**
 * The Runyard agent's fields in the deploy's terms. `tools` and `policies` are the deploy's lists
 * with the created tools and access policies added (duplicates dropped), so an index is mapped
 * through the name it holds; `env` is keyed by name in Runyard, by position in the deploy.
 */
function agentRenames(
  body: DeployBody,
  tools: readonly string[],
  policies: readonly string[],
): FieldRename[] {
  const indexIn = (list: readonly string[], field: string, fallback: string) => (path: string) => {
    const match = new RegExp(`^${field}\\.(\\d+)(\\..*)?$`).exec(path);
    if (match === null) return path === field ? fallback : undefined;
    const name = (field === 'tools' ? tools : policies)[Number(match[1])];
    const index = name === undefined ? -1 : list.indexOf(name);
    if (index !== -1) return `${fallback}.${index}${match[2] ?? ''}`;
    const created = body.tools_to_create.findIndex((tool) => tool.name === name);
    return created === -1 ? fallback : `tools_to_create.${created}.name`;
  };
  const envEntry = (path: string) => {
    const match = /^env\.([^.]+)(\.secret)?(\..*)?$/.exec(path);
    if (match === null) return undefined;
    const index = body.env.findIndex((entry) => entry.name === match[1]);
    if (index === -1) return 'env';
    return `env.${index}${match[2] === undefined ? '' : '.secretRef'}`;
  };
  return [
    renamed('name', 'agent_name'),
    renamed('instructions', 'system_prompt'),
    renamed('model', 'llm_configs'),
    renamed('metadata', 'llm_configs'),
    indexIn(body.required_tools, 'tools', 'required_tools'),
    indexIn(body.policies, 'policies', 'policies'),
    envEntry,
  ];
}

function envOf(entries: readonly EnvEntry[]): AgentConfig['env'] {
  const env: AgentConfig['env'] = {};
  for (const entry of entries) {
    env[entry.name] = 'value' in entry ? entry.value : { secret: entry.secretRef };
  }
  return env;
}
