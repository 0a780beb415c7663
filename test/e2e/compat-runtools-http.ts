import { expect } from 'vitest';
import { z } from 'zod';
import type { TestServer } from '../support/server.ts';

/** Plain HTTP against /compat/runtools, as a runtools client would send it (only base URL and key changed). */
export interface RuntoolsResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body (undefined for an event stream); read it through the schemas below. */
  body: unknown;
  /** The raw text of the body. */
  text: string;
}

export interface RequestOptions {
  /** Sent as `X-API-Key` unless `bearer` is set. */
  key?: string | undefined;
  bearer?: boolean;
  body?: unknown;
  /** A raw body, sent as is (with the content type below). */
  rawBody?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export function runtoolsClient(server: TestServer, defaultKey: string) {
  const base = `${server.url}/compat/runtools`;
  return async (method: string, path: string, options: RequestOptions = {}): Promise<RuntoolsResponse> => {
    const key = 'key' in options ? options.key : defaultKey;
    const headers: Record<string, string> = { ...options.headers };
    if (key !== undefined) {
      if (options.bearer === true) headers.authorization = `Bearer ${key}`;
      else headers['x-api-key'] = key;
    }
    let body: string | undefined;
    if (options.rawBody !== undefined) {
      body = options.rawBody;
      headers['content-type'] = options.contentType ?? 'application/json';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const response = await fetch(`${base}${path}`, { method, headers, body });
    const text = await response.text();
    const isJson = response.headers.get('content-type')?.includes('application/json') === true;
    return {
      status: response.status,
      headers: response.headers,
      body: isJson ? JSON.parse(text) : undefined,
      text,
    };
  };
}

export type RuntoolsCall = ReturnType<typeof runtoolsClient>;

export interface Frame {
  event: string;
  id: number | undefined;
  data: Record<string, unknown>;
}

/** The frames of a Server-Sent Events body (comments skipped). */
export function parseFrames(text: string): Frame[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
      }
      const id = fields.get('id');
      return {
        event: fields.get('event') ?? 'message',
        id: id === undefined ? undefined : Number(id),
        data: z.record(z.string(), z.unknown()).parse(JSON.parse(fields.get('data') ?? 'null')),
      };
    });
}

/** runtools' error shape: `{error: {code, message, requestId}}`, plus `details` when there are any. */
const errorSchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string().min(1),
    requestId: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** Asserts the status and runtools' error shape; returns the error. */
export function expectRuntoolsError(response: RuntoolsResponse, status: number, code: string) {
  const { error } = errorSchema.parse(response.body);
  expect({ status: response.status, code: error.code }).toEqual({ status, code });
  expect(error.requestId).toBe(response.headers.get('x-request-id'));
  return error;
}

/** The body, checked against the documented response shape (a mismatch fails with zod's issues). */
export function bodyOf<T extends z.ZodType>(schema: T, response: RuntoolsResponse): z.output<T> {
  return schema.parse(response.body);
}

const nullableString = z.string().nullable();

export const upsertResponseSchema = z.strictObject({
  data: z.strictObject({
    id: z.string(),
    slug: z.string(),
    action: z.enum(['created', 'updated']),
    version: z.number().int().positive(),
    sandboxId: nullableString,
    targetDeviceId: nullableString,
    endpoint: z.string(),
  }),
  /** What the upsert stored but this server cannot use yet. */
  warnings: z.array(
    z.strictObject({
      code: z.enum(['model_unavailable', 'tool_unavailable', 'sandbox_unavailable', 'device_unavailable']),
      field: z.string(),
      message: z.string(),
    }),
  ),
});

const agentSchema = z.strictObject({
  id: z.string(),
  orgId: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  model: z.string(),
  runyardModel: z.string(),
  executionMode: z.enum(['in_sandbox', 'managed', 'local-mac']),
  visibility: z.string(),
  systemPrompt: z.string(),
  toolsJson: z.array(z.string()),
  runyardTools: z.array(z.string()),
  sandboxId: nullableString,
  sandboxSlug: nullableString,
  targetDeviceId: nullableString,
  status: z.string(),
  configJson: z.record(z.string(), z.unknown()),
  envJson: z.record(z.string(), z.unknown()),
  attachedResources: z.array(z.record(z.string(), z.unknown())),
  version: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const pageFields = { hasMore: z.boolean(), nextCursor: nullableString };

export const agentResponseSchema = z.strictObject({ data: agentSchema });
export const agentListResponseSchema = z.strictObject({ data: z.array(agentSchema), ...pageFields });

export const runResponseSchema = z.strictObject({
  data: z.strictObject({
    runId: z.string(),
    sandboxId: nullableString,
    executionMode: z.string(),
    status: z.string(),
    result: nullableString,
    error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
    usage: z.strictObject({ inputTokens: z.number().int(), outputTokens: z.number().int() }),
    iterations: z.number().int(),
    threadId: nullableString,
  }),
});

const threadSchema = z.strictObject({
  id: z.string(),
  orgId: z.string(),
  ownerUserId: z.null(),
  agentId: nullableString,
  title: nullableString,
  executionMode: nullableString,
  archived: z.boolean(),
  activeRolloutId: z.null(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const threadEventSchema = z.strictObject({
  sequence: z.number().int().positive(),
  rolloutId: z.null(),
  threadId: z.string(),
  runId: z.string(),
  type: z.string(),
  payload: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});
export type ThreadEvent = z.infer<typeof threadEventSchema>;

export const threadResponseSchema = z.strictObject({ data: z.strictObject({ thread: threadSchema }) });
export const threadListResponseSchema = z.strictObject({
  data: z.strictObject({ threads: z.array(threadSchema) }),
  ...pageFields,
});
export const threadEventsResponseSchema = z.strictObject({
  data: z.strictObject({ thread: threadSchema, events: z.array(threadEventSchema) }),
  ...pageFields,
});
export const deletedResponseSchema = z.strictObject({
  data: z.strictObject({ id: z.string(), slug: z.string().optional(), deleted: z.literal(true) }),
});

/** A fresh workspace and an admin key of it, so each test starts from an empty workspace. */
export async function freshWorkspace(server: TestServer, name: string): Promise<string> {
  const workspace = await server.admin.workspaces.create({ name });
  const key = await server.admin.apiKeys.create({
    name: `${name} admin`,
    scopes: ['admin'],
    workspaceId: workspace.id,
  });
  return key.key;
}

/** The seed example's body, verbatim (runtools-upsert-agent.txt). */
export const seedAgentBody = {
  slug: 'code-assistant',
  name: 'Code Assistant',
  model: 'claude-sonnet-4',
  systemPrompt: 'You are a careful software engineering assistant.',
  tools: ['exec_command', 'write_stdin', 'apply_patch', 'web_search', 'get_dev_url'],
  sandbox: 'build-runner',
  executionMode: 'in_sandbox',
  maxIterations: 25,
  maxTokens: 16384,
};
