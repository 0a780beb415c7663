import { parseArgs } from 'node:util';
import { Runyard } from '@runyard/sdk';
import type { CommandGroup, Invocation, OptionSpecification, Subcommand } from './command-group.ts';
import { resolveConnection, type Connection } from './connection.ts';
import { UsageError, exitCodes, reportFailure } from './failures.ts';
import { connectionUsage, groupUsage } from './usage.ts';

const commonOptions = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, OptionSpecification>;

/** Runs `runyard <group> <subcommand> …`; resolves to the exit code. */
export async function runGroup(group: CommandGroup, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const usage = groupUsage(group) + connectionUsage;
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage);
    return exitCodes.success;
  }
  let connection: Connection | undefined;
  try {
    if (name === undefined) throw new UsageError(`'runyard ${group.name}' needs a command`);
    const subcommand = group.subcommands.find((candidate) => candidate.name === name);
    if (subcommand === undefined) throw new UsageError(`unknown command '${group.name} ${name}'`);
    const { values, positionals } = parseOptions(rest, { ...commonOptions, ...subcommand.options });
    if (values.help === true) {
      process.stdout.write(usage);
      return exitCodes.success;
    }
    checkArguments(group, subcommand, positionals);
    await subcommand.run(
      invocation(`${group.name} ${subcommand.name}`, subcommand, values, positionals, (resolved) => {
        connection = resolved;
      }),
    );
    return exitCodes.success;
  } catch (error) {
    return reportFailure(error, { url: connection?.url, keySource: connection?.keySource, usage });
  }
}

function invocation(
  label: string,
  subcommand: Subcommand,
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  positionals: string[],
  connected: (connection: Connection) => void,
): Invocation {
  const option = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    arguments: positionals,
    option,
    requiredOption: (name) => {
      const value = option(name);
      if (value !== undefined && value !== '') return value;
      const short = subcommand.options[name]?.short;
      throw new UsageError(`'${label}' needs ${short === undefined ? '' : `-${short}/`}--${name}`);
    },
    json: values.json === true,
    client: () => {
      const connection = resolveConnection({
        url: option('url'),
        apiKey: option('api-key'),
        dataDir: option('data-dir'),
      });
      connected(connection);
      return new Runyard({ baseUrl: connection.url, apiKey: connection.apiKey });
    },
  };
}

function parseOptions(args: string[], options: Record<string, OptionSpecification>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
}

/** node:util's messages, shortened to what a person needs. */
export function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  const option = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${option}'`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return message.includes('does not take an argument')
      ? `${option} does not take a value`
      : `${option} needs a value`;
  }
  return message;
}

function checkArguments(group: CommandGroup, subcommand: Subcommand, positionals: string[]): void {
  const missing = subcommand.arguments[positionals.length];
  if (missing !== undefined) {
    throw new UsageError(`'${group.name} ${subcommand.name}' needs ${missing}`);
  }
  const extra = positionals[subcommand.arguments.length];
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
}
