import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, AgentVersion, UpsertAgentResult } from '@runyard/protocol';
import { backendNames, postgresAvailable, temporaryDirectory } from '../support/backends.ts';
import { cliFor, cliSuiteOptions, fieldsOf, tableRows } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.concurrent.each(backendNames)('runyard agents on %s', cliSuiteOptions, (backend) => {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer;
  let cli: ReturnType<typeof cliFor>;
  let directory: string;
  const writeFile = (name: string, content: string) => {
    const file = path.join(directory, name);
    fs.writeFileSync(file, content);
    return file;
  };
  beforeAll(async () => {
    if (skip) return;
    server = await startTestServer(backend);
    cli = cliFor(server);
    directory = temporaryDirectory('runyard-cli-agents-');
  });
  afterAll(async () => {
    await server?.close();
    if (directory !== undefined) fs.rmSync(directory, { recursive: true, force: true });
  });

  it.skipIf(skip)('applies a YAML file: created, then updated to version 2, then unchanged', async () => {
    const yaml = (instructions: string, name = 'Support') =>
      `slug: support\nname: ${name}\nmodel: playground/playground\ninstructions: ${instructions}\ntags: [customer]\n`;
    const file = writeFile('support.yaml', yaml('Be kind.'));

    const created = await cli(['agents', 'apply', '-f', file]);
    expect(created.exitCode).toBe(0);
    expect(created.stderr).toBe('');
    const agent = await server.admin.agents.get('support');
    expect(agent).toMatchObject({ version: 1, instructions: 'Be kind.', tags: ['customer'] });
    expect(created.stdout).toBe(
      `created support version 1 (${agent.id})\nenvironments:  draft 1, staging -, production -\n`,
    );

    writeFile('support.yaml', yaml('Be kind and brief.'));
    const updated = await cli(['agents', 'apply', '--file', file]);
    expect(updated.stdout.split('\n')[0]).toBe(`updated support version 2 (${agent.id})`);
    expect(fieldsOf(updated.stdout).environments).toBe('draft 2, staging -, production -');
    expect((await server.admin.agents.get('support')).instructions).toBe('Be kind and brief.');

    const unchanged = await cli(['agents', 'apply', '-f', file]);
    expect(unchanged.stdout.split('\n')[0]).toBe(`unchanged support version 2 (${agent.id})`);

    // A descriptive change updates the agent without a new version.
    writeFile('support.yaml', yaml('Be kind and brief.', 'Customer support'));
    const renamed = await cli(['agents', 'apply', '-f', file]);
    expect(renamed.stdout.split('\n')[0]).toBe(`updated support version 2 (${agent.id})`);
    expect((await server.admin.agents.get('support')).name).toBe('Customer support');
  });

  it.skipIf(skip)('applies a JSON file and prints the raw result with --json', async () => {
    const file = writeFile(
      'triage.json',
      JSON.stringify({
        slug: 'triage',
        name: 'Triage',
        model: 'playground/playground',
        settings: { temperature: 0 },
      }),
    );
    const created = await cli(['agents', 'apply', '-f', file, '--json']);
    expect(created.exitCode).toBe(0);
    const result = JSON.parse(created.stdout) as UpsertAgentResult;
    expect(result.action).toBe('created');
    expect(result.agent).toMatchObject({
      slug: 'triage',
      name: 'Triage',
      version: 1,
      settings: { temperature: 0 },
    });
    expect(result.agent).toEqual(await server.admin.agents.get('triage'));

    const again = JSON.parse(
      (await cli(['agents', 'apply', '-f', file, '--json'])).stdout,
    ) as UpsertAgentResult;
    expect(again.action).toBe('unchanged');
    expect(again.agent.version).toBe(1);
  });

  it.skipIf(skip)('applies YAML from standard input with -f -', async () => {
    const result = await cli(['agents', 'apply', '-f', '-'], {
      stdin: 'slug: from-stdin\nname: From stdin\nmodel: playground/playground\n',
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^created from-stdin version 1 \(agt_\w+\)\n/);
  });

  it.skipIf(skip)('shows an agent by slug or id, as text or JSON', async () => {
    const agent = await server.admin.agents.create({
      slug: 'show-me',
      name: 'Show me',
      description: 'Answers billing questions',
      category: 'billing',
      subcategory: 'refunds',
      tags: ['money', 'customer'],
      model: 'playground/playground',
      instructions: 'Line one.\nLine two.',
      settings: { temperature: 0.5 },
      env: { MODE: 'fast' },
    });
    const text = await cli(['agents', 'get', 'show-me']);
    expect(text.exitCode).toBe(0);
    expect(fieldsOf(text.stdout)).toMatchObject({
      slug: 'show-me',
      id: agent.id,
      name: 'Show me',
      description: 'Answers billing questions',
      status: 'active',
      category: 'billing / refunds',
      tags: 'money, customer',
      model: 'playground/playground',
      version: '1',
      environments: 'draft 1, staging -, production -',
      tools: '-',
      settings: '{"temperature":0.5}',
      env: 'MODE=fast',
      etag: agent.etag,
    });
    expect(text.stdout).toMatch(/\ninstructions:\n {2}Line one\.\n {2}Line two\.\n$/);

    const byId = await cli(['agents', 'get', agent.id, '--json']);
    expect(JSON.parse(byId.stdout)).toEqual(agent);
  });

  it.skipIf(skip)('lists versions and promotes them to staging and production', async () => {
    await server.admin.agents.create({ slug: 'release', name: 'Release', model: 'playground/playground' });
    await server.admin.agents.update('release', { instructions: 'Version two.' });

    const versions = await cli(['agents', 'versions', 'release']);
    expect(versions.exitCode).toBe(0);
    expect(versions.stdout.split('\n')[0]).toMatch(/^VERSION +ENVIRONMENTS +MODEL +CONTENT HASH +CREATED$/);
    expect(tableRows(versions.stdout).map((cells) => cells.slice(0, 3))).toEqual([
      ['2', 'draft', 'playground/playground'],
      ['1', '-', 'playground/playground'],
    ]);

    const promoted = await cli(['agents', 'promote', 'release', '--version', '1', '--env', 'production']);
    expect(promoted).toMatchObject({
      exitCode: 0,
      stdout: 'Promoted release version 1 to production.\nenvironments:  draft 2, staging -, production 1\n',
    });
    const staged = await cli([
      'agents',
      'promote',
      'release',
      '--version',
      '2',
      '--env',
      'staging',
      '--json',
    ]);
    expect((JSON.parse(staged.stdout) as Agent).environments).toEqual({
      draft: 2,
      staging: 2,
      production: 1,
    });
    expect((await server.admin.agents.get('release')).environments).toEqual({
      draft: 2,
      staging: 2,
      production: 1,
    });

    const after = await cli(['agents', 'versions', 'release']);
    expect(tableRows(after.stdout).map((cells) => cells.slice(0, 2))).toEqual([
      ['2', 'draft, staging'],
      ['1', 'production'],
    ]);
    const json = JSON.parse((await cli(['agents', 'versions', 'release', '--json'])).stdout) as {
      data: AgentVersion[];
    };
    expect(json.data.map((version) => [version.version, version.config.instructions])).toEqual([
      [2, 'Version two.'],
      [1, ''],
    ]);

    const missing = await cli(['agents', 'promote', 'release', '--version', '9', '--env', 'production']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^runyard: VALIDATION_FAILED: version: .*\n {2}field version: /);
  });

  it.skipIf(skip)('lists agents with filters, a search, and pages', async () => {
    const create = (slug: string, fields: Record<string, unknown>) =>
      server.admin.agents.create({ slug, name: slug, model: 'playground/playground', ...fields });
    await create('filter-alpha', { name: 'Alpha Bot', tags: ['filters'], category: 'sales' });
    await create('filter-beta', { name: 'Beta Bot', tags: ['filters'], category: 'ops', status: 'paused' });
    await create('filter-gamma', { name: 'Gamma Helper', tags: ['filters', 'special'], category: 'ops' });
    const slugs = async (...filters: string[]) => {
      const result = await cli(['agents', 'list', '--tag', 'filters', ...filters]);
      expect(result.exitCode).toBe(0);
      return tableRows(result.stdout).map((cells) => cells[0]);
    };

    const all = await cli(['agents', 'list', '--tag', 'filters']);
    expect(all.stdout.split('\n')[0]).toMatch(
      /^SLUG +NAME +VERSION +STAGING +PRODUCTION +STATUS +CATEGORY +TAGS +UPDATED$/,
    );
    expect(tableRows(all.stdout).map((cells) => cells.slice(0, 8))).toEqual([
      ['filter-gamma', 'Gamma Helper', '1', '-', '-', 'active', 'ops', 'filters, special'],
      ['filter-beta', 'Beta Bot', '1', '-', '-', 'paused', 'ops', 'filters'],
      ['filter-alpha', 'Alpha Bot', '1', '-', '-', 'active', 'sales', 'filters'],
    ]);
    expect(await slugs('--category', 'ops')).toEqual(['filter-gamma', 'filter-beta']);
    expect(await slugs('--status', 'paused')).toEqual(['filter-beta']);
    expect(await slugs('--search', 'bot')).toEqual(['filter-beta', 'filter-alpha']);
    expect(await slugs('--category', 'ops', '--status', 'active')).toEqual(['filter-gamma']);

    const firstPage = await cli(['agents', 'list', '--tag', 'filters', '--limit', '2']);
    expect(tableRows(firstPage.stdout).map((cells) => cells[0])).toEqual(['filter-gamma', 'filter-beta']);
    const cursor = /^More agents: add --cursor (\S+) \(with the same filters\)$/m.exec(firstPage.stderr)?.[1];
    expect(await slugs('--limit', '2', '--cursor', cursor ?? '')).toEqual(['filter-alpha']);

    const json = await cli(['agents', 'list', '--tag', 'special', '--json']);
    const page = JSON.parse(json.stdout) as { data: Agent[]; nextCursor: string | null };
    expect(page.data.map((agent) => agent.slug)).toEqual(['filter-gamma']);
    expect(page.nextCursor).toBeNull();

    const none = await cli(['agents', 'list', '--tag', 'nothing-has-this-tag']);
    expect(none).toMatchObject({ exitCode: 0, stdout: 'No agents.\n' });
  });

  it.skipIf(skip)('deletes an agent; afterwards it is a 404 through the CLI', async () => {
    await server.admin.agents.create({ slug: 'doomed', name: 'Doomed', model: 'playground/playground' });
    const deleted = await cli(['agents', 'delete', 'doomed']);
    expect(deleted).toMatchObject({ exitCode: 0, stdout: 'Deleted agent doomed.\n', stderr: '' });

    for (const command of [['get'], ['versions'], ['delete']]) {
      const result = await cli(['agents', ...command, 'doomed']);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^runyard: NOT_FOUND: agent 'doomed' was not found \(request req_\w+\)\n$/,
      );
    }
    const json = await cli(['agents', 'delete', 'never-existed', '--json']);
    expect(json.exitCode).toBe(1);
    expect(json.stdout).toBe('');
  });

  it.skipIf(skip)('names the field the server rejected, and the file it came from', async () => {
    const file = writeFile('bad-model.yaml', 'slug: bad-model\nname: Bad\nmodel: gpt-4o\n');
    const result = await cli(['agents', 'apply', '-f', file]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^runyard: VALIDATION_FAILED: model: must be "provider\/model".* \(request req_\w+\)$/,
    );
    expect(lines.slice(1)).toEqual([
      '  field model: must be "provider/model", e.g. "playground/playground"',
      `  hint: fix the field in ${file}`,
    ]);

    const unknownField = writeFile(
      'extra.json',
      JSON.stringify({ slug: 'extra', name: 'X', model: 'playground/playground', colour: 'red' }),
    );
    const extra = await cli(['agents', 'apply', '-f', unknownField]);
    expect(extra.exitCode).toBe(1);
    expect(extra.stderr).toContain('  field colour: is not a known field\n');
  });
});
