import { APICallError, type LanguageModelV3, type LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { backoffDelayMs, sleep, type Usage } from '@runyard/protocol';
import { abortScope } from '../abort-scope.ts';
import { EngineError } from '../engine-error.ts';
import { CredentialScrubber } from '../tools/credential-scrubber.ts';
import { encodeToolNames, toolNameCodec } from './tool-wire-names.ts';

export interface ModelCandidate {
  /** `provider/model`, as the agent names it. */
  reference: string;
  model: LanguageModelV3;
  /** The provider's own prices by model name, laid over the built-in table (engine/models/prices.ts). */
  prices?: Readonly<Record<string, { inputPerMillionUsd: number; outputPerMillionUsd: number }>>;
  /** Waits for a request slot of the provider's requestsPerMinute, if it has one. */
  acquireSlot: (signal: AbortSignal) => Promise<void>;
  /**
   * The credentials the model sends (its provider's API key): removed from every error message,
   * since a provider's error body may quote the key it was shown, and the message reaches the run,
   * its events, the log and the caller.
   */
  credentials?: readonly string[];
}

export interface ModelToolCall {
  toolCallId: string;
  toolName: string;
  /** The raw JSON text the model produced: untrusted until parsed and validated. */
  inputText: string;
}

export interface ModelStepResult {
  reference: string;
  text: string;
  toolCalls: ModelToolCall[];
  finishReason: string;
  usage: Usage;
}

export interface ModelCallRequest {
  /** The agent's model first, then its fallbacks, tried in order when retries run out. */
  candidates: ModelCandidate[];
  options: Omit<LanguageModelV3CallOptions, 'abortSignal'>;
  /** Aborts on cancel or the run's deadline. */
  signal: AbortSignal;
  callTimeoutMs: number;
  maxRetries: number;
  /** Called before each attempt; text of a failed attempt is superseded by the next one. */
  onAttempt: (reference: string, attempt: number) => Promise<void>;
  onTextDelta: (delta: string) => void;
  onRetry: (error: EngineError, delayMs: number) => Promise<void>;
}

/** Full jitter (`backoffDelayMs`): 0.5 s doubling, at most 30 s; a named `retry-after` is capped the same. */
const modelBackoff = { baseMs: 500, capMs: 30_000 };

/**
 * One model step with retries: 429, 5xx and dropped connections are retried with exponential
 * backoff and jitter, honouring `retry-after-ms` and `retry-after`; when one model's retries run
 * out the next candidate is tried. Other errors (400, 401, …) fail at once.
 */
export async function callModel(request: ModelCallRequest): Promise<ModelStepResult> {
  const declared = (request.options.tools ?? []).map((tool) => tool.name);
  const codec = toolNameCodec(declared);
  const wireRequest = { ...request, options: encodeToolNames(request.options, codec) };
  const result = await callWithRetries(wireRequest);
  return {
    ...result,
    toolCalls: result.toolCalls.map((call) => ({ ...call, toolName: codec.fromWire(call.toolName) })),
  };
}

async function callWithRetries(request: ModelCallRequest): Promise<ModelStepResult> {
  let attempt = 0;
  let lastError: EngineError | undefined;
  for (const [candidateIndex, candidate] of request.candidates.entries()) {
    for (let retry = 0; retry <= request.maxRetries; retry += 1) {
      attempt += 1;
      await request.onAttempt(candidate.reference, attempt);
      try {
        return await streamOnce(candidate, request);
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason;
        const failure = scrubbed(classify(error, candidate.reference), candidate.credentials ?? []);
        lastError = failure.error;
        const moreRetries = failure.retryable && retry < request.maxRetries;
        const moreCandidates = candidateIndex < request.candidates.length - 1;
        if (!failure.retryable && !moreCandidates) throw failure.error;
        if (!moreRetries && !moreCandidates) throw failure.error;
        const delayMs = moreRetries ? (failure.retryAfterMs ?? backoffDelayMs(retry, modelBackoff)) : 0;
        await request.onRetry(failure.error, delayMs);
        await sleep(delayMs, request.signal);
        if (!failure.retryable) break;
      }
    }
  }
  throw lastError ?? new EngineError('PROVIDER_ERROR', 'no model to call');
}

async function streamOnce(candidate: ModelCandidate, request: ModelCallRequest): Promise<ModelStepResult> {
  await candidate.acquireSlot(request.signal);
  const scope = abortScope(request.signal, request.callTimeoutMs);
  try {
    return await readStream(candidate, request, scope.signal);
  } finally {
    scope.dispose();
  }
}

async function readStream(
  candidate: ModelCandidate,
  request: ModelCallRequest,
  signal: AbortSignal,
): Promise<ModelStepResult> {
  const { stream } = await candidate.model.doStream({ ...request.options, abortSignal: signal });
  let text = '';
  const toolCalls: ModelToolCall[] = [];
  let finish: { reason: string; usage: Usage } | undefined;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value: part } = await reader.read();
      if (done) break;
      if (part.type === 'text-delta') {
        // OpenAI's first chunk carries an empty delta: not worth an event.
        if (part.delta === '') continue;
        text += part.delta;
        request.onTextDelta(part.delta);
      } else if (part.type === 'tool-call') {
        toolCalls.push({ toolCallId: part.toolCallId, toolName: part.toolName, inputText: part.input });
      } else if (part.type === 'finish') {
        // OpenAI-style providers emit `finish` even for a body that ended before saying why (empty
        // or not a stream at all): with nothing received, that is an early end, not an empty answer.
        if (part.finishReason.raw === undefined && text === '' && toolCalls.length === 0) continue;
        const inputTokens = part.usage.inputTokens.total ?? 0;
        const outputTokens = part.usage.outputTokens.total ?? 0;
        finish = {
          reason: part.finishReason.unified,
          usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
        };
      } else if (part.type === 'error') {
        throw part.error;
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (finish === undefined) {
    throw new EngineError('PROVIDER_ERROR', `${candidate.reference}: the response stream ended early`, {
      retryable: true,
    });
  }
  return {
    reference: candidate.reference,
    text,
    toolCalls,
    finishReason: finish.reason,
    usage: finish.usage,
  };
}

function scrubbed(failure: Failure, credentials: readonly string[]): Failure {
  if (credentials.length === 0) return failure;
  const scrubber = new CredentialScrubber();
  for (const credential of credentials) scrubber.add(credential);
  const message = scrubber.scrub(failure.error.message);
  if (message === failure.error.message) return failure;
  const error = new EngineError(failure.error.code, message, { retryable: failure.error.retryable });
  return { ...failure, error };
}

interface Failure {
  error: EngineError;
  retryable: boolean;
  retryAfterMs: number | undefined;
}

function classify(error: unknown, reference: string): Failure {
  if (error instanceof EngineError) {
    return { error, retryable: error.retryable, retryAfterMs: undefined };
  }
  // A stream cut mid-way is an APICallError with the 2xx status its response began with: a network
  // failure (below), not an HTTP error.
  const cutOff =
    APICallError.isInstance(error) && (error.statusCode ?? 0) >= 200 && (error.statusCode ?? 0) < 300;
  if (APICallError.isInstance(error) && !cutOff) {
    const status = error.statusCode;
    const retryable =
      status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
    const code = status === 401 || status === 403 ? 'PROVIDER_AUTH_FAILED' : 'PROVIDER_ERROR';
    return {
      error: new EngineError(
        code,
        `${reference}: ${status === undefined ? '' : `HTTP ${status}: `}${error.message}`,
        {
          retryable,
        },
      ),
      retryable,
      retryAfterMs: retryAfter(error.responseHeaders),
    };
  }
  if (error instanceof Error && error.name === 'TimeoutError') {
    return {
      error: new EngineError('PROVIDER_TIMEOUT', `${reference}: no answer in time`, { retryable: true }),
      retryable: true,
      retryAfterMs: undefined,
    };
  }
  // Network failures (refused, reset, a stream cut mid-way) surface as TypeError or a plain Error.
  const message = error instanceof Error ? describe(error) : String(error);
  return {
    error: new EngineError('PROVIDER_ERROR', `${reference}: ${message}`, { retryable: true }),
    retryable: true,
    retryAfterMs: undefined,
  };
}

function retryAfter(headers: Record<string, string> | undefined): number | undefined {
  if (headers === undefined) return undefined;
  const milliseconds = Number(headers['retry-after-ms']);
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return Math.min(milliseconds, modelBackoff.capMs);
  const value = headers['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, modelBackoff.capMs);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, date - Date.now()), modelBackoff.capMs);
}

function describe(error: Error): string {
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}
