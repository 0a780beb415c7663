import { agentStatuses, type BodyInputOf, type routes } from '@runyard/protocol';
import { RunyardApiError } from '@runyard/sdk';
import { readAgentFile } from '../agent-file.ts';
import type { CommandGroup, Invocation } from '../command-group.ts';
import { ErrorWithHint, UsageError } from '../failures.ts';
import { formatFields, writeJson, writeLines, writeNote } from '../output.ts';
import { agentDetails, agentTable, formatEnvironments, versionTable } from './agent-views.ts';
import { pageQuery } from './pagination.ts';

const promotableEnvironments = ['staging', 'production'] as const;

export const agentsCommands: CommandGroup = {
  name: 'agents',
  title: 'Agents',
  subcommands: [
    {
      name: 'list',
      arguments: [],
      synopsis: `[--tag T] [--category C] [--status ${agentStatuses.join('|')}] [--search Q] [--limit N] [--cursor C]`,
      description: 'list agents, newest first; --search matches the name',
      options: {
        tag: { type: 'string' },
        category: { type: 'string' },
        status: { type: 'string' },
        search: { type: 'string' },
        limit: { type: 'string' },
        cursor: { type: 'string' },
      },
      run: listAgents,
    },
    {
      name: 'get',
      arguments: ['<idOrSlug>'],
      synopsis: '',
      description: 'show an agent',
      options: {},
      run: getAgent,
    },
    {
      name: 'apply',
      arguments: [],
      synopsis: '-f FILE',
      description:
        'create or replace the agent defined in FILE (.yaml, .yml or .json, with a slug; - reads stdin);\n' +
        '      prints created, updated or unchanged and the version',
      options: { file: { type: 'string', short: 'f' } },
      run: applyAgent,
    },
    {
      name: 'delete',
      arguments: ['<idOrSlug>'],
      synopsis: '',
      description: 'delete an agent (its runs keep their history)',
      options: {},
      run: deleteAgent,
    },
    {
      name: 'versions',
      arguments: ['<idOrSlug>'],
      synopsis: '',
      description: 'list the versions of an agent, newest first, and the environments at each',
      options: {},
      run: listVersions,
    },
    {
      name: 'promote',
      arguments: ['<idOrSlug>'],
      synopsis: '--version N --env staging|production',
      description: 'point staging or production at a version (an older one rolls back)',
      options: { version: { type: 'string' }, env: { type: 'string' } },
      run: promoteAgent,
    },
  ],
};

async function listAgents(invocation: Invocation): Promise<void> {
  const status = invocation.option('status');
  const knownStatus = agentStatuses.find((candidate) => candidate === status);
  if (status !== undefined && knownStatus === undefined) {
    throw new UsageError(`--status must be one of ${agentStatuses.join(', ')}, not '${status}'`);
  }
  const tag = invocation.option('tag');
  const category = invocation.option('category');
  const search = invocation.option('search');
  const page = await invocation.client().agents.list({
    ...pageQuery(invocation),
    ...(tag !== undefined && { tag }),
    ...(category !== undefined && { category }),
    ...(knownStatus !== undefined && { status: knownStatus }),
    ...(search !== undefined && { search }),
  });
  if (invocation.json) return writeJson(page);
  if (page.data.length === 0) return writeLines('No agents.');
  writeLines(...agentTable(page.data));
  if (page.nextCursor !== null) {
    writeNote(`More agents: add --cursor ${page.nextCursor} (with the same filters)`);
  }
}

async function getAgent(invocation: Invocation): Promise<void> {
  const [idOrSlug = ''] = invocation.arguments;
  const agent = await invocation.client().agents.get(idOrSlug);
  if (invocation.json) return writeJson(agent);
  writeLines(...agentDetails(agent));
}

async function applyAgent(invocation: Invocation): Promise<void> {
  const file = invocation.requiredOption('file');
  const { slug, body } = readAgentFile(file);
  const client = invocation.client();
  let result;
  try {
    result = await client.agents.upsert(slug, body as BodyInputOf<typeof routes.upsertAgent>);
  } catch (error) {
    if (error instanceof RunyardApiError && error.code === 'VALIDATION_FAILED') {
      throw new ErrorWithHint(error, `fix the field in ${file === '-' ? 'standard input' : file}`);
    }
    throw error;
  }
  if (invocation.json) return writeJson(result);
  const { action, agent } = result;
  writeLines(
    `${action} ${agent.slug} version ${agent.version} (${agent.id})`,
    ...formatFields([['environments', formatEnvironments(agent.environments)]]),
  );
}

async function deleteAgent(invocation: Invocation): Promise<void> {
  const [idOrSlug = ''] = invocation.arguments;
  await invocation.client().agents.delete(idOrSlug);
  if (invocation.json) return writeJson({ idOrSlug, deleted: true });
  writeLines(`Deleted agent ${idOrSlug}.`);
}

async function listVersions(invocation: Invocation): Promise<void> {
  const [idOrSlug = ''] = invocation.arguments;
  const client = invocation.client();
  const [agent, versions] = await Promise.all([
    client.agents.get(idOrSlug),
    client.agents.versions(idOrSlug),
  ]);
  if (invocation.json) return writeJson({ data: versions });
  writeLines(...versionTable(agent, versions));
}

async function promoteAgent(invocation: Invocation): Promise<void> {
  const [idOrSlug = ''] = invocation.arguments;
  const versionText = invocation.requiredOption('version');
  const environmentText = invocation.requiredOption('env');
  if (!/^[1-9]\d*$/.test(versionText)) {
    throw new UsageError(`--version must be a version number (1, 2, …), not '${versionText}'`);
  }
  const environment = promotableEnvironments.find((candidate) => candidate === environmentText);
  if (environment === undefined) {
    throw new UsageError(`--env must be staging or production, not '${environmentText}'`);
  }
  const version = Number(versionText);
  const agent = await invocation.client().agents.promote(idOrSlug, { version, environment });
  if (invocation.json) return writeJson(agent);
  writeLines(
    `Promoted ${agent.slug} version ${version} to ${environment}.`,
    ...formatFields([['environments', formatEnvironments(agent.environments)]]),
  );
}
