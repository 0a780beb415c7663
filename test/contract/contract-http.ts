import { expect } from 'vitest';
import { errorBodySchema, errorCatalogue, isErrorCode, type ErrorBody } from '@runyard/protocol';

/** Shared by the contract tests: raw HTTP against a running server, and snapshots of a workspace. */

export interface RawRequest {
  method?: string;
  /** Already percent-encoded where it matters; appended to the server URL as is. */
  path: string;
  /** Sent as `Authorization: Bearer <key>` unless undefined. */
  apiKey?: string | undefined;
  headers?: Record<string, string>;
  /** Serialised as JSON with `content-type: application/json`. */
  json?: unknown;
  /** Sent verbatim; set the content type (or none) yourself in `headers`. */
  rawBody?: string | Uint8Array;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  body: unknown;
}

export async function send(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (request.apiKey !== undefined) headers.authorization = `Bearer ${request.apiKey}`;
  // A copy: fetch takes only ArrayBuffer-backed views.
  let body: string | Uint8Array<ArrayBuffer> | undefined =
    request.rawBody instanceof Uint8Array ? new Uint8Array(request.rawBody) : request.rawBody;
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  }
  Object.assign(headers, request.headers);
  const response = await fetch(baseUrl + request.path, {
    method: request.method ?? 'GET',
    headers,
    ...(body !== undefined && { body }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/**
 * Asserts the response is a catalogue error: JSON, `{error: {code, message, details}}`, a code the
 * catalogue knows, and the catalogue's status for it. Returns the error.
 */
export function expectCatalogueError(response: RawResponse, context = ''): ErrorBody['error'] {
  const label = `${context} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(response.headers.get('content-type') ?? '', label).toMatch(/^application\/json\b/);
  const parsed = errorBodySchema.safeParse(response.body);
  expect(parsed.success, label).toBe(true);
  const error = (parsed.data as ErrorBody).error;
  expect(Object.keys(error).sort(), label).toEqual(['code', 'details', 'message']);
  expect(isErrorCode(error.code), label).toBe(true);
  if (isErrorCode(error.code)) expect(errorCatalogue[error.code].status, label).toBe(response.status);
  expect(error.message.length, label).toBeGreaterThan(0);
  return error;
}

/** Every item of a paginated list route, following `nextCursor`. */
export async function listAll(
  baseUrl: string,
  apiKey: string,
  path: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const query: string = `limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const response = await send(baseUrl, { path: `${path}${separator}${query}`, apiKey });
    expect(response.status, `${path}: ${response.text}`).toBe(200);
    const page = response.body as { data: Record<string, unknown>[]; nextCursor: string | null };
    items.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items;
}

export interface WorkspaceSnapshot {
  workspaces: Record<string, unknown>[];
  apiKeys: Record<string, unknown>[];
  secrets: Record<string, unknown>[];
  providers: Record<string, unknown>[];
  agents: Record<string, unknown>[];
  agentVersions: Record<string, unknown[]>;
  threads: Record<string, unknown>[];
  threadMessages: Record<string, unknown[]>;
  runs: Record<string, unknown>[];
  /** Each run's artifacts (their descriptions), by run id. */
  runArtifacts: Record<string, unknown[]>;
  tools: Record<string, unknown>[];
  toolVersions: Record<string, unknown[]>;
  policies: Record<string, unknown>[];
  /** Policy decisions: a request that is refused decides nothing. */
  audit: Record<string, unknown>[];
}

/**
 * Everything the key's workspace holds, as its lists and version lists show it. `lastUsedAt` of the
 * keys in `keysInUse` is left out: using a key to take the snapshot may move it.
 */
export async function snapshotWorkspace(
  baseUrl: string,
  apiKey: string,
  keysInUse: readonly string[] = [],
): Promise<WorkspaceSnapshot> {
  const agents = await listAll(baseUrl, apiKey, '/v1/agents');
  const threads = await listAll(baseUrl, apiKey, '/v1/threads');
  const tools = await listAll(baseUrl, apiKey, '/v1/tools');
  const runs = await listAll(baseUrl, apiKey, '/v1/runs');
  /** One unpaginated list per item (`{ data }`), by the item's key. */
  const listsOf = async (
    items: Record<string, unknown>[],
    key: string,
    pathOf: (value: string) => string,
  ) => {
    const lists: Record<string, unknown[]> = {};
    for (const item of items) {
      const value = String(item[key]);
      const response = await send(baseUrl, { path: pathOf(value), apiKey });
      expect(response.status, response.text).toBe(200);
      lists[value] = (response.body as { data: unknown[] }).data;
    }
    return lists;
  };
  const agentVersions = await listsOf(agents, 'id', (id) => `/v1/agents/${id}/versions`);
  const toolVersions = await listsOf(
    tools.filter((item) => item.builtIn !== true),
    'name',
    (name) => `/v1/tools/${name}/versions`,
  );
  const runArtifacts = await listsOf(runs, 'id', (id) => `/v1/runs/${id}/artifacts`);
  const threadMessages: Record<string, unknown[]> = {};
  for (const thread of threads) {
    const id = String(thread.id);
    threadMessages[id] = await listAll(baseUrl, apiKey, `/v1/threads/${id}/messages`);
  }
  const apiKeys = (await listAll(baseUrl, apiKey, '/v1/api-keys')).map((key) => {
    if (!keysInUse.includes(String(key.id))) return key;
    const { lastUsedAt: _lastUsedAt, ...rest } = key;
    return rest;
  });
  return {
    workspaces: await listAll(baseUrl, apiKey, '/v1/workspaces'),
    apiKeys,
    secrets: await listAll(baseUrl, apiKey, '/v1/secrets'),
    providers: await listAll(baseUrl, apiKey, '/v1/providers'),
    agents,
    agentVersions,
    threads,
    threadMessages,
    runs,
    runArtifacts,
    tools,
    toolVersions,
    policies: await listAll(baseUrl, apiKey, '/v1/policies'),
    audit: await listAll(baseUrl, apiKey, '/v1/audit'),
  };
}

/** The id of the key a raw key string belongs to, as `GET /v1/api-keys` shows it (by prefix). */
export async function keyIdOf(baseUrl: string, adminKey: string, key: string): Promise<string> {
  const keys = await listAll(baseUrl, adminKey, '/v1/api-keys');
  const match = keys.find((candidate) => key.startsWith(String(candidate.prefix)));
  if (match === undefined) throw new Error('the key is not in this workspace');
  return String(match.id);
}
