import type { Runyard } from '@runyard/sdk';

/* What a command of the CLI declares: `command.ts` runs it, `usage.ts` prints its help. */

export interface OptionSpecification {
  type: 'string' | 'boolean';
  short?: string;
}

/** One API command, e.g. `agents promote`. */
export interface Subcommand {
  name: string;
  /** Required positional arguments as shown in the help, e.g. `<idOrSlug>`. */
  arguments: string[];
  /** The options as shown in the help, e.g. `--version N --env staging|production`. */
  synopsis: string;
  description: string;
  options: Record<string, OptionSpecification>;
  run(invocation: Invocation): Promise<void>;
}

/** A family of API commands, e.g. `agents`. */
export interface CommandGroup {
  name: string;
  title: string;
  subcommands: Subcommand[];
}

export interface Invocation {
  /** The positional arguments, as many as the subcommand declares. */
  arguments: string[];
  option(name: string): string | undefined;
  /** The option's value, or a usage error naming it. */
  requiredOption(name: string): string;
  /** Print the API's JSON response instead of text. */
  json: boolean;
  /** The SDK client; resolving the URL and key happens here, so usage errors come first. */
  client(): Runyard;
}
