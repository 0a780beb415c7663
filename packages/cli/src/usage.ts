import type { CommandGroup } from './command-group.ts';
import { defaultUrl } from './connection.ts';

export const serverUsage = `Server:
  start   [--port N] [--host H] [--data-dir DIR]   API and worker in one process (the default)
  api     [--port N] [--host H] [--data-dir DIR]   API only (scale out on PostgreSQL)
  worker  [--data-dir DIR]                         worker only
  migrate [--data-dir DIR]                         apply database migrations and exit
`;

export const connectionUsage = `
Options of the keys and agents commands:
  --url URL        the server (RUNYARD_URL; default ${defaultUrl})
  --api-key KEY    the API key (RUNYARD_API_KEY; default: the contents of <data dir>/admin.key)
  --data-dir DIR   where admin.key is (RUNYARD_DATA_DIR; default ./.runyard)
  --json           print the API's JSON response instead of text
  -h, --help       print this help

Exit status: 0 done, 1 the API refused the request, 64 usage error (command line, input file
or no API key), 69 the server could not be reached.
`;

/** The commands of one group, each with its synopsis and, on the next line, what it does. */
export function groupUsage(group: CommandGroup): string {
  const lines = group.subcommands.flatMap((subcommand) => [
    `  ${[group.name, subcommand.name, ...subcommand.arguments, subcommand.synopsis].filter(Boolean).join(' ')}`,
    `      ${subcommand.description}`,
  ]);
  return `${group.title}:\n${lines.join('\n')}\n`;
}

/** Every command: `runyard help`. */
export function fullUsage(groups: CommandGroup[]): string {
  return (
    ['Usage: runyard <command> [options]\n', serverUsage, ...groups.map((group) => groupUsage(group))].join(
      '\n',
    ) + connectionUsage
  );
}
