import { createHash } from 'node:crypto';
import { abortScope } from '../abort-scope.ts';
import { backoffDelayMs, sleep, type ToolAuth } from '@runyard/protocol';
import { CredentialScrubber } from './credential-scrubber.ts';
import {
  HttpAuthenticator,
  networkReason,
  type AppliedCredentials,
  type CredentialSource,
} from './http-auth.ts';
import { placeInput, type InputPlan, type PlacedInput } from './http-input.ts';
import { readBody, toResult, tooLargeForModel, type HttpToolResult, type ReadBody } from './http-response.ts';
import { noEgress, type EgressGuard } from '../policies/egress-guard.ts';
import { sendOutbound } from './outbound.ts';
import type { ArtifactKeeper, KeptArtifact, Tool, ToolContext } from './tool.ts';
import { ToolError } from './tool-error.ts';

/** One callable HTTP operation: a `kind: http` tool, or one operation of its OpenAPI document. */
export interface HttpOperation {
  /** The callable name: `shout`, or `billing.createInvoice`. */
  name: string;
  description: string;
  baseUrl: string;
  plan: InputPlan;
  auth: ToolAuth;
  timeoutMs: number;
  maxResponseBytes: number;
  maxRetries: number;
}

export const defaultTimeoutMs = 30_000;
export const defaultMaxResponseBytes = 100_000;
export const defaultMaxRetries = 2;
export const maxRedirects = 5;
/** Retried after a 5xx or a connection failure: repeating them cannot do the work twice. */
export const idempotentMethods: readonly string[] = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'];
/** Full jitter (`backoffDelayMs`): up to 200 ms doubling, at most 2 s; ends early when the run does. */
const retryBackoff = { baseMs: 200, capMs: 2_000 };
const defaultAccept = 'application/json, text/plain;q=0.9, */*;q=0.5';
/** What APIs that deduplicate by key accept (Stripe: up to 255 characters). */
const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;

/** Builds the Tool the engine calls; credentials are read in `execute`, at call time. */
export function createHttpTool(operation: HttpOperation, source: CredentialSource): Tool {
  return {
    name: operation.name,
    description: operation.description,
    inputSchema: operation.plan.modelSchema,
    network: true,
    plannedRequest: (input) => {
      try {
        const { url } = placeInput(operation.plan, operation.baseUrl, input as Record<string, unknown>);
        return { method: operation.plan.method, url };
      } catch {
        return undefined;
      }
    },
    execute: (input, context) =>
      callHttp(
        operation,
        source,
        input as Record<string, unknown>,
        context.signal,
        idempotencyKeyOf(context),
        context.egress ?? noEgress,
        context.artifacts,
      ),
  };
}

/** One answered request of a call: the response (its body read) before it becomes the model's result. */
interface Exchange {
  response: Response;
  read: ReadBody;
}

/**
 * The `Idempotency-Key` of one tool call. A call interrupted by a crash has not finished, so the
 * worker that resumes the run executes it again (at-least-once); the key is what lets the API apply
 * it once. `<runId>:<toolCallId>` is the same on every attempt: the toolCallId comes from the model's
 * step, which is journaled (`step-end`) before any of its tool calls starts. A direct invoke has no
 * run: its toolCallId is fresh per invoke, so is its key. A toolCallId a header cannot carry (or too
 * long a key) is replaced by its SHA-256, which is just as stable.
 */
export function idempotencyKeyOf(context: Pick<ToolContext, 'runId' | 'toolCallId'>): string {
  const key = context.runId === null ? context.toolCallId : `${context.runId}:${context.toolCallId}`;
  if (idempotencyKeyPattern.test(key)) return key;
  const digest = createHash('sha256').update(context.toolCallId).digest('hex');
  return context.runId === null ? digest : `${context.runId}:${digest}`;
}

/**
 * One call: place the input, add credentials, send (following redirects), retry idempotent methods
 * after a 5xx or a connection failure with backoff, and refetch an OAuth2 token once after a 401.
 * Every request of the call (retries and redirect hops included) carries `idempotencyKey`, unless the
 * input places an `Idempotency-Key` header of its own. Any non-2xx answer is a result, not an error:
 * the model reads the status and reacts.
 */
export async function callHttp(
  operation: HttpOperation,
  source: CredentialSource,
  input: Record<string, unknown>,
  signal: AbortSignal,
  idempotencyKey: string,
  egress: EgressGuard,
  artifacts?: ArtifactKeeper,
): Promise<HttpToolResult> {
  const scrubber = new CredentialScrubber();
  // What is read of a body: what the model may see, or what an artifact may keep when that is more.
  const keepBytes = Math.max(operation.maxResponseBytes, artifacts?.maxBytes ?? 0);
  const authenticator = new HttpAuthenticator(operation.auth, source, scrubber, egress);
  const retryable = idempotentMethods.includes(operation.plan.method);
  try {
    const placed = placeInput(operation.plan, operation.baseUrl, input);
    placed.headers = { 'idempotency-key': idempotencyKey, ...placed.headers };
    let refreshed = false;
    for (let attempt = 0; ;) {
      const credentials = await authenticator.credentials(signal, operation.timeoutMs);
      let exchange: Exchange;
      try {
        exchange = await sendFollowingRedirects(operation, placed, credentials, keepBytes, signal, egress);
      } catch (error) {
        if (error instanceof ToolError && error.reason === 'unreachable' && retryable) {
          if (attempt < operation.maxRetries) {
            await sleep(backoffDelayMs(attempt, retryBackoff), signal);
            attempt += 1;
            continue;
          }
        }
        throw error;
      }
      const status = exchange.response.status;
      if (status === 401 && authenticator.refreshable && !refreshed) {
        // The cached token may have been revoked early: one fresh token, one more try.
        refreshed = true;
        authenticator.invalidate();
        continue;
      }
      if (status >= 500 && retryable && attempt < operation.maxRetries) {
        await sleep(backoffDelayMs(attempt, retryBackoff), signal);
        attempt += 1;
        continue;
      }
      // Only the answer the model gets is kept, not those of the attempts retried before it.
      const { response, read } = exchange;
      const kept = tooLargeForModel(read, operation.maxResponseBytes)
        ? await keepWhole(artifacts, response, read, scrubber)
        : undefined;
      return toResult(response, read, scrubber, operation.maxResponseBytes, kept);
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof ToolError)
      throw new ToolError(error.reason, scrubber.scrub(error.message), error.refusal);
    throw new ToolError('error', scrubber.scrub(error instanceof Error ? error.message : String(error)));
  }
}

/**
 * Keeps the body the model sees only the start of as a run artifact (credentials scrubbed, at most
 * the keeper's `maxBytes`). Outside a run (a direct invoke) there is nowhere to keep it.
 */
async function keepWhole(
  artifacts: ArtifactKeeper | undefined,
  response: Response,
  read: ReadBody,
  scrubber: CredentialScrubber,
): Promise<KeptArtifact | undefined> {
  if (artifacts === undefined) return undefined;
  // Scrubbed where it will be cut, so that no start of a credential is left at the end.
  const cut = read.truncated || read.kept.length > artifacts.maxBytes;
  return artifacts.keep({
    name: 'response-body',
    contentType: response.headers.get('content-type') ?? 'application/octet-stream',
    content: scrubber.scrubBytes(read.kept.subarray(0, artifacts.maxBytes), cut),
    truncated: cut,
  });
}

/** Redirects are followed here, one `sendOutbound` per hop; credentials go only to the tool's own origin. */
async function sendFollowingRedirects(
  operation: HttpOperation,
  placed: PlacedInput,
  credentials: AppliedCredentials,
  keepBytes: number,
  signal: AbortSignal,
  egress: EgressGuard,
): Promise<Exchange> {
  const attempt = abortScope(signal, operation.timeoutMs);
  const attemptSignal = attempt.signal;
  try {
    const origin = placed.url.origin;
    let url = placed.url;
    let method: string = operation.plan.method;
    let body = placed.body;
    let headers: Record<string, string> = { accept: defaultAccept, ...placed.headers };
    for (let hop = 0; ; hop += 1) {
      const onOrigin = url.origin === origin;
      const target = new URL(url);
      if (onOrigin) for (const [name, value] of credentials.query) target.searchParams.set(name, value);
      const where = `${method} ${target.origin}${target.pathname}`;
      let response: Response;
      try {
        response = await sendOutbound(
          {
            method,
            url: target,
            headers: onOrigin ? { ...headers, ...credentials.headers } : headers,
            body,
            purpose: hop === 0 ? 'request' : 'redirect',
          },
          attemptSignal,
          egress,
        );
      } catch (error) {
        throw failure(error, signal, where, operation.timeoutMs);
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel().catch(() => undefined);
        if (hop >= maxRedirects) {
          throw new ToolError('too-many-redirects', `${where} redirected more than ${maxRedirects} times`);
        }
        url = new URL(location, target);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          throw new ToolError('unreachable', `${where} redirected to an unsupported ${url.protocol} URL`);
        }
        // 303, and 301/302 after a POST, continue as GET without the body (as browsers do).
        if (
          response.status === 303 ||
          ((response.status === 301 || response.status === 302) && method === 'POST')
        ) {
          if (method !== 'HEAD') method = 'GET';
          body = undefined;
          const { 'content-type': _contentType, ...rest } = headers;
          headers = rest;
        }
        continue;
      }
      try {
        return { response, read: await readBody(response, keepBytes) };
      } catch (error) {
        throw failure(error, signal, where, operation.timeoutMs);
      }
    }
  } finally {
    attempt.dispose();
  }
}

function failure(error: unknown, signal: AbortSignal, where: string, timeoutMs: number): unknown {
  if (signal.aborted) return signal.reason;
  // A refusal of the egress guard (or its lookup) already says what happened.
  if (error instanceof ToolError) return error;
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ToolError('timeout', `${where} did not answer within ${timeoutMs} ms`);
  }
  return new ToolError('unreachable', `${where} could not be reached: ${networkReason(error)}`);
}
