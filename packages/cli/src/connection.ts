import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './failures.ts';

export const defaultUrl = 'http://127.0.0.1:8080';

export interface ConnectionFlags {
  url: string | undefined;
  apiKey: string | undefined;
  dataDir: string | undefined;
}

export interface Connection {
  url: string;
  apiKey: string;
  /** Where the key came from, for error messages: `--api-key`, `RUNYARD_API_KEY` or the admin.key path. */
  keySource: string;
}

type Environment = Record<string, string | undefined>;

/** The server's URL: --url, RUNYARD_URL, else the default of `runyard start`. */
export function resolveUrl(flags: ConnectionFlags, environment: Environment = process.env): string {
  const url = nonEmpty(flags.url) ?? nonEmpty(environment.RUNYARD_URL) ?? defaultUrl;
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new UsageError(`--url (or RUNYARD_URL) must be an http:// or https:// URL, not '${url}'`, false);
  }
  return url;
}

/** The URL and API key: --api-key, RUNYARD_API_KEY, else `<data dir>/admin.key`, which the server writes on first start. */
export function resolveConnection(
  flags: ConnectionFlags,
  environment: Environment = process.env,
): Connection {
  const url = resolveUrl(flags, environment);
  const flagKey = nonEmpty(flags.apiKey);
  if (flagKey !== undefined) return { url, apiKey: flagKey, keySource: '--api-key' };
  const environmentKey = nonEmpty(environment.RUNYARD_API_KEY);
  if (environmentKey !== undefined) return { url, apiKey: environmentKey, keySource: 'RUNYARD_API_KEY' };

  const dataDir = path.resolve(
    nonEmpty(flags.dataDir) ?? nonEmpty(environment.RUNYARD_DATA_DIR) ?? '.runyard',
  );
  const keyFile = path.join(dataDir, 'admin.key');
  const fileKey = readKeyFile(keyFile);
  if (fileKey !== undefined) return { url, apiKey: fileKey, keySource: keyFile };
  throw new UsageError(
    `no API key: pass --api-key KEY, set RUNYARD_API_KEY, or point --data-dir (or RUNYARD_DATA_DIR) ` +
      `at the server's data directory, whose admin.key the server writes on first start ` +
      `(looked for ${keyFile})`,
    false,
  );
}

function readKeyFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UsageError(`cannot read the API key file ${file}: ${code ?? String(error)}`, false);
  }
  return nonEmpty(text.trim());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
