import { parseArgs } from 'node:util';
import { runMigrate, runServer } from './server-commands.ts';

const usage = `Usage: runyard <command> [options]

Server:
  start   [--port N] [--host H] [--data-dir DIR]   API and worker in one process (the default)
  api     [--port N] [--host H] [--data-dir DIR]   API only (scale out on PostgreSQL)
  worker  [--data-dir DIR]                         worker only
  migrate [--data-dir DIR]                         apply database migrations and exit
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
    case 'api':
    case 'worker': {
      const { values } = parseArgs({
        args: rest,
        options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' } },
        strict: true,
      });
      return runServer(command === 'start' ? 'all' : command, {
        port: values.port,
        host: values.host,
        dataDir: values['data-dir'],
      });
    }
    case 'migrate': {
      const { values } = parseArgs({ args: rest, options: { 'data-dir': { type: 'string' } }, strict: true });
      return runMigrate({ dataDir: values['data-dir'] });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return command === undefined ? 64 : 0;
    default:
      process.stderr.write(`runyard: unknown command '${command}'\n\n${usage}`);
      return 64;
  }
}
