import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../support/backends.ts';
import { cliSuiteOptions, runCli, type CliResult } from '../support/cli.ts';

// Nothing here reaches a server: usage and input-file errors are found before any request.
const offline = ['--url', 'http://127.0.0.1:9', '--api-key', 'ry_unused_key_0123456789abcdef'];

function expectUsageError(result: CliResult, message: string, usageLine: string) {
  expect(result.exitCode).toBe(64);
  expect(result.stdout).toBe('');
  expect(result.stderr.split('\n')[0]).toBe(`runyard: ${message}`);
  expect(result.stderr).toContain(usageLine);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe.concurrent('runyard help and usage errors', cliSuiteOptions, () => {
  it('lists every command with `help`, `--help` and `-h`', async () => {
    for (const flag of ['help', '--help', '-h']) {
      const result = await runCli([flag]);
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe('');
      for (const command of [
        'start',
        'api',
        'worker',
        'migrate',
        'keys create --name N --scopes read,run',
        'keys list',
        'keys revoke <keyId>',
        'agents list [--tag T] [--category C] [--status active|paused|archived] [--search Q]',
        'agents get <idOrSlug>',
        'agents apply -f FILE',
        'agents delete <idOrSlug>',
        'agents versions <idOrSlug>',
        'agents promote <idOrSlug> --version N --env staging|production',
        '--url URL',
        '--api-key KEY',
        '--data-dir DIR',
        '--json',
      ]) {
        expect(result.stdout).toContain(`  ${command}`);
      }
    }
  });

  it('prints the usage of a command group with --help', async () => {
    const result = await runCli(['agents', 'promote', '--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('agents promote <idOrSlug> --version N --env staging|production');
    expect(result.stdout).not.toContain('keys create');
  });

  it('exits 64 with the usage on stderr without a command', async () => {
    const result = await runCli([]);
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toContain('Usage: runyard <command>');
  });

  it('rejects unknown commands and subcommands', async () => {
    const unknown = await runCli(['deploy']);
    expectUsageError(unknown, "unknown command 'deploy'", 'agents apply -f FILE');
    const unknownSubcommand = await runCli(['agents', 'rollback', 'support']);
    expectUsageError(unknownSubcommand, "unknown command 'agents rollback'", 'agents promote <idOrSlug>');
    const noSubcommand = await runCli(['keys']);
    expectUsageError(noSubcommand, "'runyard keys' needs a command", 'keys revoke <keyId>');
  });

  it('rejects unknown options, options without values and extra arguments', async () => {
    expectUsageError(
      await runCli(['agents', 'list', '--colour', 'red', ...offline]),
      "unknown option '--colour'",
      'agents list [--tag T]',
    );
    expectUsageError(
      await runCli(['keys', 'list', '--tag', 'x', ...offline]),
      "unknown option '--tag'",
      'keys list [--limit N]',
    );
    expectUsageError(
      await runCli(['agents', 'list', ...offline, '--tag']),
      '--tag needs a value',
      'agents list',
    );
    expectUsageError(
      await runCli(['agents', 'list', '--json=yes', ...offline]),
      '--json does not take a value',
      'agents list',
    );
    expectUsageError(
      await runCli(['agents', 'get', 'one', 'two', ...offline]),
      "unexpected argument 'two'",
      'agents get <idOrSlug>',
    );
  });

  it('names the missing option or argument', async () => {
    expectUsageError(
      await runCli(['keys', 'create', '--scopes', 'read', ...offline]),
      "'keys create' needs --name",
      'keys create --name N',
    );
    expectUsageError(
      await runCli(['keys', 'create', '--name', 'ci', ...offline]),
      "'keys create' needs --scopes",
      'keys create --name N',
    );
    expectUsageError(
      await runCli(['keys', 'revoke', ...offline]),
      "'keys revoke' needs <keyId>",
      'keys revoke',
    );
    expectUsageError(
      await runCli(['agents', 'apply', ...offline]),
      "'agents apply' needs -f/--file",
      'apply',
    );
    expectUsageError(
      await runCli(['agents', 'promote', 'support', '--version', '2', ...offline]),
      "'agents promote' needs --env",
      'agents promote',
    );
    expectUsageError(
      await runCli(['agents', 'get', ...offline]),
      "'agents get' needs <idOrSlug>",
      'agents get',
    );
  });

  it('checks scopes, environments, versions, statuses and limits before sending anything', async () => {
    expectUsageError(
      await runCli(['keys', 'create', '--name', 'ci', '--scopes', 'read,deploy', ...offline]),
      "--scopes: unknown scope 'deploy'; the scopes are read, write, run, admin",
      'keys create',
    );
    expectUsageError(
      await runCli(['agents', 'promote', 'support', '--version', '2', '--env', 'draft', ...offline]),
      "--env must be staging or production, not 'draft'",
      'agents promote',
    );
    expectUsageError(
      await runCli(['agents', 'promote', 'support', '--version', 'latest', '--env', 'staging', ...offline]),
      "--version must be a version number (1, 2, …), not 'latest'",
      'agents promote',
    );
    expectUsageError(
      await runCli(['agents', 'list', '--status', 'deleted', ...offline]),
      "--status must be one of active, paused, archived, not 'deleted'",
      'agents list',
    );
    expectUsageError(
      await runCli(['agents', 'list', '--limit', 'ten', ...offline]),
      "--limit must be a whole number, not 'ten'",
      'agents list',
    );
    const badUrl = await runCli(['agents', 'list', '--url', 'localhost:8080', '--api-key', 'k']);
    expect(badUrl.exitCode).toBe(64);
    expect(badUrl.stderr).toBe(
      "runyard: --url (or RUNYARD_URL) must be an http:// or https:// URL, not 'localhost:8080'\n",
    );
  });
});

describe.concurrent('runyard agents apply with a bad file', cliSuiteOptions, () => {
  let directory: string;
  const file = (name: string, content: string) => {
    const filePath = path.join(directory, name);
    fs.writeFileSync(filePath, content);
    return filePath;
  };
  const apply = (filePath: string) => runCli(['agents', 'apply', '-f', filePath, ...offline]);
  const expectFileError = (result: CliResult, message: string) => {
    expect(result.exitCode).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`runyard: ${message}\n`);
  };

  beforeAll(() => {
    directory = temporaryDirectory('runyard-cli-files-');
  });
  afterAll(() => {
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('names a missing file', async () => {
    const missing = path.join(directory, 'missing.yaml');
    expectFileError(await apply(missing), `cannot read ${missing}: no such file`);
    expectFileError(
      await apply(directory + '/'),
      `${directory}/: unknown file type ''; use .yaml, .yml or .json`,
    );
  });

  it('names a file that is not YAML or JSON, with the parser’s reason', async () => {
    const yaml = file('broken.yaml', 'slug: support\nname: [Support\n');
    const result = await apply(yaml);
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toMatch(
      new RegExp(`^runyard: ${yaml.replaceAll('.', '\\.')} is not valid YAML: .*line \\d+, column \\d+\\n$`),
    );
    const json = file('broken.json', '{"slug": "support",}');
    const jsonResult = await apply(json);
    expect(jsonResult.exitCode).toBe(64);
    expect(jsonResult.stderr).toMatch(/^runyard: .*broken\.json is not valid JSON: /);
    expect(jsonResult.stderr.split('\n')).toHaveLength(2);
  });

  it('needs one mapping with a slug', async () => {
    const list = file('list.yaml', '- slug: a\n- slug: b\n');
    expectFileError(
      await apply(list),
      `${list} must define one agent as a mapping of fields (slug, name, model, …), not a list`,
    );
    const scalar = file('scalar.json', '"support"');
    expectFileError(
      await apply(scalar),
      `${scalar} must define one agent as a mapping of fields (slug, name, model, …), not a string`,
    );
    const empty = file('empty.yml', '# nothing yet\n');
    expectFileError(await apply(empty), `${empty} is empty: it must define one agent, e.g. "slug: support"`);
    const noSlug = file('no-slug.yaml', 'name: Support\nmodel: playground/playground\n');
    expectFileError(await apply(noSlug), `${noSlug} has no slug: add one, e.g. "slug: support"`);
    const numericSlug = file('numeric.json', '{"slug": 42}');
    expectFileError(
      await apply(numericSlug),
      `${numericSlug}: slug must be a non-empty text, e.g. "slug: support"`,
    );
  });

  it('accepts only .yaml, .yml and .json', async () => {
    const text = file('agent.txt', 'slug: support\n');
    expectFileError(await apply(text), `${text}: unknown file type '.txt'; use .yaml, .yml or .json`);
  });
});
