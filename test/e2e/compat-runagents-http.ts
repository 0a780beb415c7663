import { expect } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { waitUntil } from '../support/wait-until.ts';

/** Plain HTTP against /compat/runagents, as a runagents client sends it (only base URL and key changed). */
export interface RunagentsResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <key>`; null sends no Authorization header. */
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export function runagentsClient(server: TestServer, defaultKey: string) {
  const base = `${server.url}/compat/runagents`;
  return async (method: string, path: string, options: RequestOptions = {}): Promise<RunagentsResponse> => {
    const key = options.key === undefined ? defaultKey : options.key;
    const headers: Record<string, string> = { ...options.headers };
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (options.rawBody !== undefined || options.body !== undefined) {
      body = options.rawBody ?? JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${base}${path}`, { method, headers, body });
    const text = await response.text();
    const isJson = response.headers.get('content-type')?.includes('application/json') === true;
    return { status: response.status, headers: response.headers, body: isJson ? JSON.parse(text) : text };
  };
}

export type RunagentsCall = ReturnType<typeof runagentsClient>;

/** The surface's error shape: `{error, code, request_id}`, the request id equal to the header. */
export function expectRunagentsError(response: RunagentsResponse, status: number, code: string): string {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  const body = response.body as { error: unknown; code: unknown; request_id: unknown };
  expect(body).toMatchObject({
    error: expect.any(String) as unknown,
    code,
    request_id: response.headers.get('x-request-id'),
  });
  return body.error as string;
}

export function json<T = Record<string, unknown>>(response: RunagentsResponse): T {
  return response.body as T;
}

/** A new workspace named `name` and an admin key of it. */
export async function freshWorkspace(server: TestServer, name: string): Promise<string> {
  const workspace = await server.admin.workspaces.create({ name });
  const key = await server.admin.apiKeys.create({
    name: `${name} admin`,
    scopes: ['admin'],
    workspaceId: workspace.id,
  });
  return key.key;
}

/** Polls a run until its status is one of `statuses`. */
export function waitForStatus(call: RunagentsCall, runId: string, statuses: string[]) {
  return waitUntil(async () => json<{ status: string }>(await call('GET', `/runs/${runId}`)), {
    what: `run ${runId} to be ${statuses.join(' or ')}`,
    until: (run) => statuses.includes(run.status),
    timeoutMs: 20_000,
    intervalMs: 50,
  });
}
