import type { Agent, AgentVersion } from '@runyard/protocol';
import { formatFields, formatList, formatTable, formatTime, orDash, printable } from '../output.ts';

/** `draft 2, staging -, production 1` */
export function formatEnvironments(environments: Agent['environments']): string {
  return `draft ${environments.draft}, staging ${orDash(environments.staging)}, production ${orDash(environments.production)}`;
}

export function agentTable(agents: Agent[]): string[] {
  return formatTable(
    ['slug', 'name', 'version', 'staging', 'production', 'status', 'category', 'tags', 'updated'],
    agents.map((agent) => [
      agent.slug,
      agent.name,
      String(agent.version),
      orDash(agent.environments.staging),
      orDash(agent.environments.production),
      agent.status,
      orDash(agent.category),
      formatList(agent.tags),
      formatTime(agent.updatedAt),
    ]),
  );
}

/** Every field as `label: value`, the instructions last and indented, as they may span lines. */
export function agentDetails(agent: Agent): string[] {
  const category = [agent.category, agent.subcategory].filter((part) => part !== null).join(' / ');
  const lines = formatFields([
    ['slug', agent.slug],
    ['id', agent.id],
    ['name', agent.name],
    ['description', orDash(agent.description)],
    ['status', agent.status],
    ['category', orDash(category)],
    ['tags', formatList(agent.tags)],
    ['model', agent.model],
    ['version', String(agent.version)],
    ['environments', formatEnvironments(agent.environments)],
    ['tools', formatList(agent.tools)],
    ['policies', formatList(agent.policies)],
    ['settings', compactJson(agent.settings)],
    ['env', formatEnv(agent.env)],
    ['output schema', agent.outputSchema === null ? '-' : compactJson(agent.outputSchema)],
    ['metadata', compactJson(agent.metadata)],
    ['etag', agent.etag],
    ['created', formatTime(agent.createdAt)],
    ['updated', formatTime(agent.updatedAt)],
  ]);
  if (agent.instructions === '') return [...lines, 'instructions: -'];
  const instructions = printable(agent.instructions.replace(/\s+$/, ''))
    .split('\n')
    .map((line) => `  ${line}`.trimEnd());
  return [...lines, 'instructions:', ...instructions];
}

/** Newest first, with the environments that point at each version. */
export function versionTable(agent: Agent, versions: AgentVersion[]): string[] {
  return formatTable(
    ['version', 'environments', 'model', 'content hash', 'created'],
    versions.map((version) => [
      String(version.version),
      formatList(environmentsAt(agent, version.version)),
      version.config.model,
      version.contentHash.replace(/^sha256:/, '').slice(0, 12),
      formatTime(version.createdAt),
    ]),
  );
}

function environmentsAt(agent: Agent, version: number): string[] {
  return (['draft', 'staging', 'production'] as const).filter(
    (environment) => agent.environments[environment] === version,
  );
}

function formatEnv(env: Agent['env']): string {
  const entries = Object.entries(env).map(([name, value]) =>
    typeof value === 'string' ? `${name}=${value}` : `${name}=secret:${value.secret}`,
  );
  return formatList(entries);
}

function compactJson(value: Record<string, unknown>): string {
  return Object.keys(value).length === 0 ? '-' : JSON.stringify(value);
}
