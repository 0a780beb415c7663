import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { UsageError } from './failures.ts';

export interface AgentFile {
  slug: string;
  /** The whole file, sent as the body of PUT /v1/agents/{slug}; the server validates it. */
  body: Record<string, unknown>;
}

/** Reads an agent definition: YAML (.yaml, .yml) or JSON (.json) by extension; `-` reads YAML or JSON from stdin. */
export function readAgentFile(file: string): AgentFile {
  const name = file === '-' ? 'standard input' : file;
  const format = formatOf(file);
  const text = readText(file, name);
  const value = parse(text, format, name);
  if (value === null || value === undefined) {
    throw new UsageError(`${name} is empty: it must define one agent, e.g. "slug: support"`, false);
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(
      `${name} must define one agent as a mapping of fields (slug, name, model, …), not ${Array.isArray(value) ? 'a list' : `a ${typeof value}`}`,
      false,
    );
  }
  const body = value as Record<string, unknown>;
  if (body.slug === undefined) {
    throw new UsageError(`${name} has no slug: add one, e.g. "slug: support"`, false);
  }
  if (typeof body.slug !== 'string' || body.slug === '') {
    throw new UsageError(`${name}: slug must be a non-empty text, e.g. "slug: support"`, false);
  }
  return { slug: body.slug, body };
}

type Format = 'yaml' | 'json';

function formatOf(file: string): Format {
  if (file === '-') return 'yaml';
  const extension = path.extname(file).toLowerCase();
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  if (extension === '.json') return 'json';
  throw new UsageError(`${file}: unknown file type '${extension}'; use .yaml, .yml or .json`, false);
}

function readText(file: string, name: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (code ?? String(error));
    throw new UsageError(`cannot read ${name}: ${reason}`, false);
  }
}

function parse(text: string, format: Format, name: string): unknown {
  try {
    return format === 'json' ? (JSON.parse(text) as unknown) : (YAML.parse(text) as unknown);
  } catch (error) {
    const message =
      error instanceof Error ? (error.message.split('\n')[0] ?? '').replace(/:$/, '') : String(error);
    throw new UsageError(`${name} is not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${message}`, false);
  }
}
