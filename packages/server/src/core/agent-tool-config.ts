import type { AgentToolConfig, CreateTool, ToolOperation, UpdateTool } from '@runyard/protocol';
import { agentToolInputSchema } from '../engine/tools/agent-tool.ts';
import type { Store } from '../store/index.ts';
import { invalidField } from '../shared/errors.ts';

/** The definition fields of a tool, as create and update send them. */
type DefinitionFields = Omit<CreateTool, 'name' | 'kind'>;

/** The only fields an agent tool has; any other field of the flat create schema is a 400 by name. */
const agentToolFields = new Set(['description', 'agent', 'environment']);

/**
 * An agent tool's definition, every default filled in. The agent is named by id or slug and stored
 * by id, so renaming the agent's slug keeps the tool working; it must exist now (400 at `agent`).
 */
export async function normalizeAgentToolConfig(
  store: Store,
  workspaceId: string,
  fields: DefinitionFields,
): Promise<AgentToolConfig> {
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null && !agentToolFields.has(field)) {
      throw invalidField(field, 'is not a field of an agent tool (description, agent, environment)');
    }
  }
  if (fields.agent === undefined) throw invalidField('agent', 'is required for an agent tool');
  const agent = await store.agents.find(workspaceId, fields.agent);
  if (agent === undefined) {
    throw invalidField('agent', `no agent '${fields.agent}' exists in this workspace`);
  }
  const environment = fields.environment ?? null;
  if (environment === 'staging' && agent.stagingVersion === null) {
    throw invalidField('environment', `agent '${agent.slug}' has no version promoted to staging`);
  }
  if (environment === 'production' && agent.productionVersion === null) {
    throw invalidField('environment', `agent '${agent.slug}' has no version promoted to production`);
  }
  return {
    kind: 'agent',
    description: fields.description ?? `Asks the agent '${agent.slug}' and returns its answer.`,
    agent: agent.id,
    environment,
  };
}

/** PATCH semantics over the current definition (`environment: null` goes back to the default). */
export function mergeAgentToolChange(current: AgentToolConfig, change: UpdateTool): DefinitionFields {
  const fields: Record<string, unknown> = {
    description: current.description,
    agent: current.agent,
    environment: current.environment,
  };
  for (const [key, value] of Object.entries(change)) if (value !== undefined) fields[key] = value;
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
}

/** An agent tool is one operation, named as the tool, taking `{input}`. */
export function agentToolOperations(toolName: string, config: AgentToolConfig): ToolOperation[] {
  return [{ name: toolName, description: config.description, inputSchema: agentToolInputSchema }];
}
