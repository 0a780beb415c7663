import { SerialTask } from '../serial-task.ts';
import { createHmac } from 'node:crypto';
import { backoffDelayMs, type RunDelivery } from '@runyard/protocol';
import type { RunRecord, Store } from '../../store/index.ts';
import { abortScope } from '../abort-scope.ts';
import { renderCallbackBody } from './callback-bodies.ts';
import { originEgress } from '../policies/egress-guard.ts';
import { ToolError } from '../tools/tool-error.ts';
import { sendOutbound } from '../tools/outbound.ts';

export interface CallbackSchedulerOptions {
  /** The bound of the (full-jitter) delay after the first failed attempt; each later one doubles it, up to `retryCapMs`. */
  retryBaseMs: number;
  retryCapMs: number;
  /** No attempt starts later than this after the run ended. */
  giveUpAfterMs: number;
  /** An attempt that has no answer after this fails. */
  timeoutMs: number;
  /** How often the database is checked for due attempts that no local event announced. */
  pollMs: number;
  /** Attempts under way at once in this process. */
  concurrency: number;
  /** Opens a run's sealed callback secret (core owns the master key). */
  openSecret: (runId: string, sealed: string) => string;
  newDeliveryId: () => string;
  onError: (error: unknown, context: string) => void;
}

export const callbackDefaults = {
  retryCapMs: 60 * 60 * 1000,
  giveUpAfterMs: 24 * 60 * 60 * 1000,
  timeoutMs: 10_000,
  pollMs: 1000,
  concurrency: 16,
} as const;

/**
 * How long the claim on an attempt outlives its timeout: a claimer that died mid-attempt (its run
 * due again only then) is never mistaken for one that is still waiting for an answer.
 */
const claimMarginMs = 5000;

/** Thrown into an attempt's request when the process stops: the attempt fails and is retried. */
class SchedulerStopped extends Error {}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The receiver recomputes it over the
 * raw body it got and rejects old timestamps, so a captured request cannot be replayed later.
 */
export function callbackSignature(secret: string, unixSeconds: number, body: string): string {
  const digest = createHmac('sha256', secret).update(`${unixSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${unixSeconds},v1=${digest}`;
}

/**
 * The delay before attempt `failedAttempt + 1`: full jitter (`backoffDelayMs`), a random delay up to
 * `baseMs`·2^(failedAttempt−1), never above `capMs`, so that callbacks failing together (a receiver
 * that was down) do not all come back at the same moment.
 */
export function retryDelayMs(
  failedAttempt: number,
  baseMs: number,
  capMs: number,
  random = Math.random,
): number {
  return backoffDelayMs(failedAttempt - 1, { baseMs, capMs }, random);
}

/**
 * Delivers run callbacks: POSTs each ended run that has a `callbackUrl` to it until the receiver
 * answers 2xx, retrying with backoff for up to `giveUpAfterMs` after the run ended. The pending
 * state lives on the run row (set when the run ends, in the same statement), so deliveries survive
 * restarts and any worker process picks them up; each attempt is claimed by exactly one of them
 * and recorded as one `run_deliveries` row.
 */
export class CallbackScheduler {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private accepting = false;
  private readonly claiming = new SerialTask(
    () => this.claimLoop(),
    (error) => this.options.onError(error, 'claiming run callbacks'),
  );
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: CallbackSchedulerOptions,
  ) {}

  start(): void {
    this.accepting = true;
    this.poller = setInterval(() => this.pump(), this.options.pollMs);
    this.poller.unref();
    this.pump();
  }

  /** Looks for due attempts now (a run just ended in this process). Never runs twice at once. */
  pump(): void {
    if (this.accepting) this.claiming.request();
  }

  /**
   * Stops claiming and lets attempts under way finish within `graceMs`; the rest are cut off,
   * recorded as failed and left due for the next start (or another worker) to retry.
   */
  async stop(graceMs: number): Promise<void> {
    this.accepting = false;
    clearInterval(this.poller);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    let timer: NodeJS.Timeout | undefined;
    const all = () => Promise.all(this.inFlight);
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.stopping.abort(new SchedulerStopped('the worker stopped before the receiver answered'));
    await all();
  }

  private async claimLoop(): Promise<void> {
    while (this.accepting && this.inFlight.size < this.options.concurrency) {
      const now = Date.now();
      const due = await this.store.runs.dueCallbacks(
        new Date(now).toISOString(),
        this.options.concurrency - this.inFlight.size,
      );
      let claimed = 0;
      for (const candidate of due) {
        if (!this.accepting) return;
        const run = await this.store.runs.claimCallback(
          candidate.id,
          candidate.attempts,
          new Date(now).toISOString(),
          new Date(now + this.options.timeoutMs + claimMarginMs).toISOString(),
        );
        // Another worker took this attempt, or it is no longer due.
        if (run === undefined) continue;
        claimed += 1;
        const attempt = this.attempt(run, candidate.attempts + 1)
          .catch((error: unknown) => this.options.onError(error, `delivering the callback of run ${run.id}`))
          .finally(() => {
            this.inFlight.delete(attempt);
            this.pump();
          });
        this.inFlight.add(attempt);
      }
      // Nothing claimable (left): the next poll, retry timer or ended run looks again.
      if (claimed === 0) return;
    }
  }

  /** One POST, then its row and the run's next due time (or none) in one transaction. */
  private async attempt(run: RunRecord, attempt: number): Promise<void> {
    const deliveryId = this.options.newDeliveryId();
    const startedAt = new Date();
    const outcome = await this.post(run, deliveryId, startedAt);
    const delivered = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
    let nextAttemptAt: string | null = null;
    if (!delivered && !outcome.final) {
      const next = Date.now() + retryDelayMs(attempt, this.options.retryBaseMs, this.options.retryCapMs);
      const endedAt = Date.parse(run.finishedAt ?? run.updatedAt);
      if (next <= endedAt + this.options.giveUpAfterMs) nextAttemptAt = new Date(next).toISOString();
    }
    const delivery: RunDelivery = {
      id: deliveryId,
      runId: run.id,
      attempt,
      statusCode: outcome.statusCode,
      error: delivered ? null : outcome.error,
      delivered,
      createdAt: startedAt.toISOString(),
      nextAttemptAt,
    };
    await this.store.transaction(async (store) => {
      await store.runDeliveries.insert(delivery);
      await store.runs.settleCallback(run.id, attempt, nextAttemptAt);
    });
    if (nextAttemptAt !== null && this.accepting) {
      const timer = setTimeout(
        () => {
          this.retryTimers.delete(timer);
          this.pump();
        },
        Math.max(0, Date.parse(nextAttemptAt) - Date.now()),
      );
      timer.unref();
      this.retryTimers.add(timer);
    }
  }

  private async post(
    run: RunRecord,
    deliveryId: string,
    startedAt: Date,
  ): Promise<{ statusCode: number | null; error: string; final?: true }> {
    if (run.callbackUrl === null)
      return { statusCode: null, error: 'the run has no callback URL', final: true };
    // Serialised once: the signature covers exactly the bytes sent.
    const body = renderCallbackBody(run);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Runyard-Callback/1',
      'x-runyard-run-id': run.id,
      'x-runyard-delivery-id': deliveryId,
    };
    if (run.callbackSecret !== null) {
      let secret: string;
      try {
        secret = this.options.openSecret(run.id, run.callbackSecret);
      } catch {
        return { statusCode: null, error: 'the callback secret could not be opened with the master key' };
      }
      headers['x-runyard-signature'] = callbackSignature(
        secret,
        Math.floor(startedAt.getTime() / 1000),
        body,
      );
    }
    const { timeoutMs } = this.options;
    const attempt = abortScope(this.stopping.signal, timeoutMs);
    try {
      // One hop: a redirect is an answer that is not 2xx, and following it would send the run elsewhere.
      const response = await sendOutbound(
        { method: 'POST', url: new URL(run.callbackUrl), headers, body },
        attempt.signal,
        originEgress('run-callback', run.callbackUrl, {
          toolName: 'callback',
          toolCallId: deliveryId,
          input: {},
        }),
      );
      // The answer's body is never read; cancelling it frees the connection.
      await response.body?.cancel().catch(() => undefined);
      return { statusCode: response.status, error: `the receiver answered ${response.status}` };
    } catch (error) {
      // The guard's refusal (a cloud metadata endpoint) answers the same on every attempt.
      if (error instanceof ToolError && error.reason === 'policy-denied') {
        return { statusCode: null, error: error.message, final: true };
      }
      return { statusCode: null, error: describeFailure(error, timeoutMs) };
    } finally {
      attempt.dispose();
    }
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof SchedulerStopped) return error.message;
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // fetch reports network failures as "fetch failed" with the reason (ECONNREFUSED, …) as cause.
  const cause = error.cause as { message?: unknown; code?: unknown } | undefined;
  const reason =
    typeof cause?.message === 'string' && cause.message !== ''
      ? cause.message
      : typeof cause?.code === 'string'
        ? cause.code
        : error.message;
  return reason.slice(0, 500);
}
