import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createAgentSchema, type Agent, type Provider, type UpdateAgent } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import { RunyardError, invalidField, notFound } from '../../../shared/errors.ts';
import { idToUuid } from '../../../shared/id-uuid-codec.ts';
import { parseOrThrow } from '../../validation.ts';
import { agentByClientId } from './client-ids.ts';
import { addRoute, assertSameTeam } from './make-request.ts';
import { unlessNotFound } from '../compat-routes.ts';
import {
  createMakeAgentSchema,
  toOutputParser,
  toOutputSchema,
  updateMakeAgentSchema,
  type OutputParserFormat,
} from './make-schemas.ts';

/** A Make agent as list, get and create return it. */
export interface MakeAgent {
  id: string;
  name: string;
  teamId: number;
  createdAt: string;
  systemPrompt: string;
  defaultModel: string;
  makeConnectionId?: number;
  makeConnectionType?: string | null;
  llmProviderId?: number;
  outputParser: OutputParserFormat;
}

const listPageSize = 200;
/** Slugs tried as `<base>`, `<base>-2` … `<base>-5` before a random suffix is added. */
const numberedSlugAttempts = 5;
const randomSlugAttempts = 5;

/** `provider/model` → the provider's name and the model as the provider names it. */
function splitModel(model: string): { providerName: string; modelName: string } {
  const slash = model.indexOf('/');
  return { providerName: model.slice(0, slash), modelName: model.slice(slash + 1) };
}

export function toMakeAgent(agent: Agent, teamId: number, provider: Provider | undefined): MakeAgent {
  return {
    id: idToUuid(agent.id),
    name: agent.name,
    teamId,
    createdAt: agent.createdAt,
    systemPrompt: agent.instructions,
    defaultModel: splitModel(agent.model).modelName,
    ...(provider !== undefined && {
      makeConnectionId: provider.number,
      makeConnectionType: provider.kind,
      llmProviderId: provider.number,
    }),
    outputParser: toOutputParser(agent.outputSchema),
  };
}

/**
 * `defaultModel` as an agent's `provider/model`: a model of `provider` (by its list of models,
 * or by name), or a full reference whose provider part is `provider` itself. A full reference to
 * another provider is refused when `makeConnectionId` chose one (`allowOtherProvider` false).
 */
async function resolveModel(
  services: Services,
  caller: Caller,
  provider: Provider,
  defaultModel: string,
  allowOtherProvider: boolean,
): Promise<string> {
  if (provider.models.includes(defaultModel)) return `${provider.name}/${defaultModel}`;
  const { providerName } = splitModel(defaultModel);
  if (providerName === provider.name) return defaultModel;
  if (providerName !== '' && defaultModel.includes('/')) {
    const named = await unlessNotFound(services.providers.get(caller, providerName));
    if (named !== undefined) {
      if (allowOtherProvider) return defaultModel;
      throw invalidField(
        'defaultModel',
        `names connection '${providerName}' (${named.number}), but makeConnectionId ${provider.number} is '${provider.name}'`,
      );
    }
  }
  return `${provider.name}/${defaultModel}`;
}

/** A slug from a display name: lower-case words joined by dashes, 2–56 characters. */
export function slugFromName(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 56)
    .replace(/-+$/, '');
  return base.length >= 2 ? base : `agent${base === '' ? '' : `-${base}`}`;
}

function slugCandidates(base: string): string[] {
  const numbered = Array.from({ length: numberedSlugAttempts - 1 }, (_, index) => `${base}-${index + 2}`);
  const random = Array.from(
    { length: randomSlugAttempts },
    () => `${base}-${randomBytes(4).toString('hex').slice(0, 6)}`,
  );
  return [base, ...numbered, ...random];
}

async function providerByNumber(services: Services, caller: Caller, number: number): Promise<Provider> {
  try {
    return await services.providers.getByNumber(caller, number);
  } catch (error) {
    if (error instanceof RunyardError && error.code === 'NOT_FOUND') {
      throw invalidField('makeConnectionId', `no connection ${number} exists in this team`);
    }
    throw error;
  }
}

async function allProviders(services: Services, caller: Caller): Promise<Map<string, Provider>> {
  const byName = new Map<string, Provider>();
  let cursor: string | undefined;
  do {
    const page = await services.providers.list(caller, { limit: listPageSize, cursor });
    for (const provider of page.data) byName.set(provider.name, provider);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return byName;
}

async function providerOf(services: Services, caller: Caller, agent: Agent): Promise<Provider | undefined> {
  return unlessNotFound(services.providers.get(caller, splitModel(agent.model).providerName));
}

interface AgentParams {
  agentId: string;
}

export function registerAgentRoutes(instance: FastifyInstance, services: Services): void {
  addRoute(instance, services, 'listAgents', async ({ caller, teamId }) => {
    const providers = await allProviders(services, caller);
    const agents: MakeAgent[] = [];
    let cursor: string | undefined;
    do {
      const page = await services.agents.list(caller, { limit: listPageSize, cursor });
      for (const agent of page.data) {
        agents.push(toMakeAgent(agent, teamId, providers.get(splitModel(agent.model).providerName)));
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return agents;
  });

  addRoute(instance, services, 'createAgent', async ({ request, reply, ...context }) => {
    const body = parseOrThrow(createMakeAgentSchema, request.body ?? {}, 'body');
    assertSameTeam(context, body.teamId);
    const { caller, teamId } = context;
    const provider = await providerByNumber(services, caller, body.makeConnectionId);
    const model = await resolveModel(services, caller, provider, body.defaultModel, false);
    const base = slugFromName(body.name);
    for (const slug of slugCandidates(base)) {
      // Validated like a /v1 create, so the core gets nothing /v1 would refuse.
      const input = parseOrThrow(
        createAgentSchema,
        {
          slug,
          name: body.name,
          model,
          instructions: body.systemPrompt,
          outputSchema:
            body.outputParserFormat === undefined ? null : toOutputSchema(body.outputParserFormat),
        },
        'body',
      );
      try {
        const agent = await services.agents.create(caller, input);
        const created = toMakeAgent(agent, teamId, provider);
        // Make's documented create example names the new id `agentId`.
        return await reply.code(201).send({ agentId: created.id, ...created });
      } catch (error) {
        if (!(error instanceof RunyardError && error.code === 'CONFLICT')) throw error;
      }
    }
    throw new RunyardError('CONFLICT', `no free slug for an agent named '${body.name}'; try another name`);
  });

  addRoute<AgentParams>(instance, services, 'getAgent', async ({ caller, teamId, request }) => {
    const agent = await agentByClientId(services, caller, request.params.agentId);
    return toMakeAgent(agent, teamId, await providerOf(services, caller, agent));
  });

  addRoute<AgentParams>(instance, services, 'updateAgent', async ({ request, reply, ...context }) => {
    const body = parseOrThrow(updateMakeAgentSchema, request.body ?? {}, 'body');
    assertSameTeam(context, body.teamId);
    const { caller } = context;
    const agent = await agentByClientId(services, caller, request.params.agentId);
    const change: UpdateAgent = {};
    if (body.name !== undefined) change.name = body.name;
    if (body.systemPrompt !== undefined) change.instructions = body.systemPrompt;
    if (body.outputParserFormat !== undefined) change.outputSchema = toOutputSchema(body.outputParserFormat);
    if (body.defaultModel !== undefined) {
      const provider = await providerOf(services, caller, agent);
      if (provider === undefined) throw notFound('provider', splitModel(agent.model).providerName);
      change.model = await resolveModel(services, caller, provider, body.defaultModel, true);
    }
    await services.agents.update(caller, agent.id, change);
    return reply.code(204).send();
  });

  addRoute<AgentParams>(instance, services, 'deleteAgent', async ({ caller, request, reply }) => {
    const agent = await agentByClientId(services, caller, request.params.agentId);
    await services.agents.delete(caller, agent.id);
    return reply.code(204).send();
  });
}
