import {
  backoffDelayMs,
  errorBodySchema,
  sleep,
  routes,
  type BodyInputOf,
  type ParamsOf,
  type QueryInputOf,
  type ResponseOf,
  type RouteDefinition,
  runEventSchema,
  type RunEvent,
} from '@runyard/protocol';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ConnectionError, RateLimitError, ResponseValidationError, errorForStatus } from './errors.ts';

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  apiKey: string;
  /** Per attempt. Default 60 000 ms. */
  timeoutMs?: number;
  /** Retries of 429, 5xx and connection failures for requests that are safe to repeat. Default 2. */
  maxRetries?: number;
  fetch?: typeof fetch;
}

export interface CallOptions<R> {
  params?: ParamsOf<R>;
  query?: QueryInputOf<R>;
  body?: BodyInputOf<R>;
  ifMatch?: string;
  idempotencyKey?: string;
  /** For streaming routes: resume after this event. */
  lastEventId?: string;
}

export interface ApiResponse<T> {
  status: number;
  data: T;
  headers: Headers;
  requestId: string | undefined;
}

/** Between retries, unless the server named a wait (`Retry-After`): full jitter, up to 250 ms doubling, at most 4 s. */
const retryBackoff = { baseMs: 250, capMs: 4_000 };

/** The generic transport: one catalogue route, typed from its schemas, response validated. */
export class Transport {
  private readonly baseUrl: string;
  private readonly fetchImplementation: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImplementation = options.fetch ?? fetch;
  }

  private request<R extends RouteDefinition>(route: R, call: CallOptions<R>, accept: string) {
    const url = new URL(this.baseUrl + fillPath(route.path, call.params ?? {}));
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, scalarText(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.apiKey}`, accept };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.ifMatch !== undefined) headers['if-match'] = call.ifMatch;
    if (call.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey;
    if (call.lastEventId !== undefined) headers['last-event-id'] = call.lastEventId;
    return { url, headers };
  }

  /**
   * A streaming route's run events, validated, through `run-end`. A connection that drops before
   * `run-end` (a restart, a proxy's idle cut) is resumed on `GET /v1/runs/{id}/stream` with
   * `Last-Event-ID` set to the last event seen, so the events come exactly once and in order, as the
   * stored log has them. `maxRetries` failed reconnects in a row end it with a ConnectionError; an
   * answer other than 2xx (401, 404, …) ends it at once, and so does a clean end with nothing new.
   */
  async *stream<R extends RouteDefinition>(route: R, call: CallOptions<R> = {}): AsyncGenerator<RunEvent> {
    const params = call.params as Record<string, unknown> | undefined;
    let runId = typeof params?.runId === 'string' ? params.runId : undefined;
    let lastSeq = call.lastEventId === undefined ? 0 : Number(call.lastEventId);
    let connection: { route: RouteDefinition; call: CallOptions<RouteDefinition> } = { route, call };
    let failures = 0;
    for (;;) {
      let cut: unknown;
      let progressed = false;
      try {
        for await (const event of this.connect(connection.route, connection.call)) {
          // A resumed stream starts after lastSeq; this guards against a server that repeats.
          if (event.seq <= lastSeq) continue;
          lastSeq = event.seq;
          progressed = true;
          failures = 0;
          if (event.type === 'run-start') runId = event.runId;
          yield event;
          if (event.type === 'run-end') return;
        }
      } catch (error) {
        if (!(error instanceof ConnectionError)) throw error;
        cut = error;
      }
      // Ended by the server with nothing after lastSeq: the run ended at or before it (following a
      // run from its last event). Ended after new events but before run-end: cut, so resume.
      if (cut === undefined && !progressed) return;
      failures += 1;
      const where = `${route.method} ${route.path}`;
      if (runId === undefined) {
        throw new ConnectionError(`${where}: the stream ended before the run was named`, { cause: cut });
      }
      if (failures > (this.options.maxRetries ?? 2)) {
        throw new ConnectionError(`${where}: the stream of run ${runId} ended after event ${lastSeq}`, {
          cause: cut,
        });
      }
      await sleep(backoffDelayMs(failures - 1, retryBackoff));
      connection = { route: routes.streamRun, call: { params: { runId }, lastEventId: String(lastSeq) } };
    }
  }

  /** One connection of a streaming route: its events until the server ends it or it is cut. */
  private async *connect(
    route: RouteDefinition,
    call: CallOptions<RouteDefinition>,
  ): AsyncGenerator<RunEvent> {
    const { url, headers } = this.request(route, call, 'text/event-stream');
    const where = `${route.method} ${url.pathname}`;
    let response: Response;
    try {
      response = await this.fetchImplementation(url, {
        method: route.method,
        headers,
        ...(call.body !== undefined && { body: JSON.stringify(call.body) }),
      });
    } catch (cause) {
      throw new ConnectionError(`${where}: ${describe(cause)}`, { cause });
    }
    const requestId = response.headers.get('x-request-id') ?? undefined;
    if (!response.ok) {
      const parsed = errorBodySchema.safeParse(await response.json().catch(() => undefined));
      throw errorForStatus(
        response.status,
        parsed.success
          ? parsed.data.error
          : {
              code: 'UNKNOWN_ERROR',
              message: `HTTP ${response.status} without a Runyard error body`,
              details: {},
            },
        requestId,
      );
    }
    if (response.body === null) return;
    yield* readEvents(response.body, where, requestId);
  }

  async call<R extends RouteDefinition>(
    route: R,
    call: CallOptions<R> = {},
  ): Promise<ApiResponse<ResponseOf<R>>> {
    const { url, headers } = this.request(route, call, route.binary === true ? '*/*' : 'application/json');
    const repeatable = route.method !== 'POST' || call.idempotencyKey !== undefined;
    const maxRetries = repeatable ? (this.options.maxRetries ?? 2) : 0;

    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await this.fetchImplementation(url, {
          method: route.method,
          headers,
          ...(call.body !== undefined && { body: JSON.stringify(call.body) }),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
        });
      } catch (cause) {
        if (attempt < maxRetries) {
          await sleep(backoffDelayMs(attempt, retryBackoff));
          continue;
        }
        throw new ConnectionError(`${route.method} ${url.pathname}: ${describe(cause)}`, { cause });
      }
      const requestId = response.headers.get('x-request-id') ?? undefined;
      if (response.ok)
        return {
          status: response.status,
          data: await parseSuccess(route, response, requestId),
          headers: response.headers,
          requestId,
        };

      const retryAfterSeconds = Number(response.headers.get('retry-after') ?? Number.NaN);
      if ((response.status === 429 || response.status >= 500) && attempt < maxRetries) {
        await response.body?.cancel();
        await sleep(
          Number.isFinite(retryAfterSeconds)
            ? retryAfterSeconds * 1000
            : backoffDelayMs(attempt, retryBackoff),
        );
        continue;
      }
      const parsed = errorBodySchema.safeParse(await response.json().catch(() => undefined));
      const body = parsed.success
        ? parsed.data.error
        : {
            code: 'UNKNOWN_ERROR',
            message: `HTTP ${response.status} without a Runyard error body`,
            details: {},
          };
      const error = errorForStatus(response.status, body, requestId);
      if (error instanceof RateLimitError && Number.isFinite(retryAfterSeconds))
        error.retryAfterSeconds = retryAfterSeconds;
      throw error;
    }
  }
}

/**
 * Reads Server-Sent Events of run events, framed by `eventsource-parser` (LF, CRLF or CR line ends,
 * multi-line data, comments); every event is validated against the protocol. A cut connection is a
 * ConnectionError, which `Transport.stream` resumes.
 */
async function* readEvents(
  body: ReadableStream<Uint8Array>,
  where: string,
  requestId: string | undefined,
): AsyncGenerator<RunEvent> {
  const messages: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => messages.push(message) });
  const decoder = new TextDecoder();
  let endsWithCarriageReturn = false;
  const reader = body.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        throw new ConnectionError(`${where}: the stream was cut: ${describe(cause)}`, { cause });
      }
      if (chunk.done) {
        // A CR at the very end is a whole line end (nothing can follow it to make a CRLF). An event
        // not yet ended by its blank line is dropped, as the spec says.
        if (endsWithCarriageReturn) parser.feed('\n');
      } else {
        const text = decoder.decode(chunk.value, { stream: true });
        if (text !== '') endsWithCarriageReturn = text.endsWith('\r');
        parser.feed(text);
      }
      for (const message of messages.splice(0)) yield parseEvent(message.data, requestId);
      if (chunk.done) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function parseEvent(data: string, requestId: string | undefined): RunEvent {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new ResponseValidationError(`stream: an event is not JSON: ${data.slice(0, 200)}`, requestId);
  }
  const event = runEventSchema.safeParse(json);
  if (event.success) return event.data;
  const failure = errorBodySchema.safeParse(json);
  if (failure.success) throw errorForStatus(500, failure.data.error, requestId);
  throw new ResponseValidationError(
    `stream: an event does not match the protocol: ${data.slice(0, 200)}`,
    requestId,
  );
}

async function parseSuccess<R extends RouteDefinition>(
  route: R,
  response: Response,
  requestId: string | undefined,
): Promise<ResponseOf<R>> {
  if (route.response === null) {
    await response.body?.cancel();
    return undefined as ResponseOf<R>;
  }
  // Stored bytes (an artifact), served with their own content type: returned as they came.
  if (route.binary === true) return new Uint8Array(await response.arrayBuffer()) as ResponseOf<R>;
  const json: unknown = await response.json().catch(() => undefined);
  const result = route.response.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ResponseValidationError(
      `${route.operationId}: the response does not match the protocol at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`,
      requestId,
    );
  }
  return result.data as ResponseOf<R>;
}

function fillPath(path: string, params: Record<string, unknown>): string {
  return path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`missing path parameter '${name}'`);
    return encodeURIComponent(scalarText(value));
  });
}

function scalarText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string } | undefined;
  return cause?.code ?? error.message;
}

export { routes };
