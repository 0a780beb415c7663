import { scopes, type ApiKey, type Scope } from '@runyard/protocol';
import type { CommandGroup, Invocation } from '../command-group.ts';
import { UsageError } from '../failures.ts';
import {
  formatFields,
  formatList,
  formatTable,
  formatTime,
  writeJson,
  writeLines,
  writeNote,
} from '../output.ts';
import { pageQuery } from './pagination.ts';

export const keysCommands: CommandGroup = {
  name: 'keys',
  title: 'API keys (needs a key with the admin scope)',
  subcommands: [
    {
      name: 'create',
      arguments: [],
      synopsis: '--name N --scopes read,run[,…] [--workspace ws_…] [--expires-at ISO]',
      description: 'create an API key with scopes read, write, run, admin; the key is printed only this once',
      options: {
        name: { type: 'string' },
        scopes: { type: 'string' },
        workspace: { type: 'string' },
        'expires-at': { type: 'string' },
      },
      run: createKey,
    },
    {
      name: 'list',
      arguments: [],
      synopsis: '[--limit N] [--cursor C]',
      description: 'list the API keys of the workspace, newest first (never their secrets)',
      options: { limit: { type: 'string' }, cursor: { type: 'string' } },
      run: listKeys,
    },
    {
      name: 'revoke',
      arguments: ['<keyId>'],
      synopsis: '',
      description: 'revoke an API key; it stops working at once',
      options: {},
      run: revokeKey,
    },
  ],
};

async function createKey(invocation: Invocation): Promise<void> {
  const name = invocation.requiredOption('name');
  const keyScopes = parseScopes(invocation.requiredOption('scopes'));
  const workspaceId = invocation.option('workspace');
  const expiresAt = invocation.option('expires-at');
  const created = await invocation.client().apiKeys.create({
    name,
    scopes: keyScopes,
    ...(workspaceId !== undefined && { workspaceId }),
    ...(expiresAt !== undefined && { expiresAt }),
  });
  if (invocation.json) return writeJson(created);
  writeLines(
    'Created an API key. Copy it now: it is shown only this once.',
    '',
    `  ${created.key}`,
    '',
    ...formatFields(keyFields(created)),
  );
}

async function listKeys(invocation: Invocation): Promise<void> {
  const page = await invocation.client().apiKeys.list(pageQuery(invocation));
  if (invocation.json) return writeJson(page);
  if (page.data.length === 0) return writeLines('No API keys.');
  writeLines(
    ...formatTable(
      ['id', 'name', 'prefix', 'scopes', 'status', 'created', 'last used', 'expires'],
      page.data.map((key) => [
        key.id,
        key.name,
        key.prefix,
        key.scopes.join(','),
        statusOf(key),
        formatTime(key.createdAt),
        formatTime(key.lastUsedAt),
        formatTime(key.expiresAt),
      ]),
    ),
  );
  if (page.nextCursor !== null) writeNote(`More keys: add --cursor ${page.nextCursor}`);
}

async function revokeKey(invocation: Invocation): Promise<void> {
  const [keyId = ''] = invocation.arguments;
  await invocation.client().apiKeys.revoke(keyId);
  if (invocation.json) return writeJson({ id: keyId, revoked: true });
  writeLines(`Revoked API key ${keyId}.`);
}

function parseScopes(text: string): Scope[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new UsageError(`--scopes needs at least one of ${scopes.join(', ')}`);
  return names.map((name) => {
    const scope = scopes.find((candidate) => candidate === name);
    if (scope === undefined) {
      throw new UsageError(`--scopes: unknown scope '${name}'; the scopes are ${scopes.join(', ')}`);
    }
    return scope;
  });
}

function statusOf(key: ApiKey): string {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

function keyFields(key: ApiKey): [string, string][] {
  return [
    ['id', key.id],
    ['name', key.name],
    ['prefix', key.prefix],
    ['scopes', formatList(key.scopes)],
    ['workspace', key.workspaceId],
    ['expires', key.expiresAt === null ? 'never' : formatTime(key.expiresAt)],
  ];
}
