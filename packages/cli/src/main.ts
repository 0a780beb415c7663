import { parseArgs } from 'node:util';
import type { CommandGroup } from './command-group.ts';
import { describeParseError, runGroup } from './command.ts';
import { agentsCommands } from './commands/agents.ts';
import { keysCommands } from './commands/keys.ts';
import { exitCodes } from './failures.ts';
import { fullUsage } from './usage.ts';

const groups: CommandGroup[] = [keysCommands, agentsCommands];

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
    case 'api':
    case 'worker':
    case 'migrate':
      return runServerCommand(command, rest);
    case undefined:
      process.stderr.write(fullUsage(groups));
      return exitCodes.usage;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(fullUsage(groups));
      return exitCodes.success;
    default: {
      const group = groups.find((candidate) => candidate.name === command);
      if (group !== undefined) return runGroup(group, rest);
      process.stderr.write(`runyard: unknown command '${command}'\n\n${fullUsage(groups)}`);
      return exitCodes.usage;
    }
  }
}

const serverOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function runServerCommand(command: 'start' | 'api' | 'worker' | 'migrate', args: string[]) {
  let values;
  try {
    ({ values } = parseArgs({ args, options: serverOptions, strict: true }));
    if (command === 'migrate' && (values.port !== undefined || values.host !== undefined)) {
      throw new Error(`'migrate' takes only --data-dir`);
    }
  } catch (error) {
    process.stderr.write(`runyard: ${describeParseError(error)}\n\n${fullUsage(groups)}`);
    return exitCodes.usage;
  }
  if (values.help === true) {
    process.stdout.write(fullUsage(groups));
    return exitCodes.success;
  }
  // Loaded only here: the API commands need neither the server nor its database drivers.
  const { runMigrate, runServer } = await import('./server-commands.ts');
  if (command === 'migrate') return runMigrate({ dataDir: values['data-dir'] });
  return runServer(command === 'start' ? 'all' : command, {
    port: values.port,
    host: values.host,
    dataDir: values['data-dir'],
  });
}
