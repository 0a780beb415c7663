import { sleep, type Run } from '@runyard/protocol';
import type { Runyard } from '@runyard/sdk';

export interface WaitOptions {
  /** What is awaited, as the failure message names it: "run_… to pause". */
  what: string;
  /** Default 15 000 ms. */
  timeoutMs?: number;
  /** Pause between two checks; default 25 ms. */
  intervalMs?: number;
}

/**
 * The one polling loop of the tests: calls `check` until it answers, then returns its answer. The
 * answer is any value but `undefined` and `false`, or, with `until`, the value `until` accepts. An
 * error of `check` ends the wait at once. After `timeoutMs` it fails naming what it waited for and
 * the last value it saw, so a timeout in CI says what state things were stuck in.
 */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  options: WaitOptions & { until: (value: T) => boolean },
): Promise<T>;
export async function waitUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions,
): Promise<T>;
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  options: WaitOptions & { until?: (value: T) => boolean },
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const accepts = options.until ?? ((value: T) => value !== undefined && value !== false);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (accepts(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.what}; last value: ${describe(value)}`,
      );
    }
    await sleep(options.intervalMs ?? 25);
  }
}

/** The statuses a run ends in. */
export const endedRunStatuses: readonly Run['status'][] = ['succeeded', 'failed', 'cancelled'];

/** Polls the run until its status is one of `statuses` (a paused run's worker resumes it on its own). */
export function waitForRunStatus(
  client: Runyard,
  runId: string,
  statuses: readonly Run['status'][],
  timeoutMs?: number,
): Promise<Run> {
  return waitUntil(() => client.runs.get(runId), {
    what: `run ${runId} to be ${statuses.join(' or ')}`,
    until: (run) => statuses.includes(run.status),
    ...(timeoutMs !== undefined && { timeoutMs }),
  });
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 2_000 ? `${text.slice(0, 2_000)}…` : text;
}
