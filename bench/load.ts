/** A bounded closed-loop load generator: a fixed number of operations, a fixed concurrency, a deadline. */

export interface LoadOptions {
  /** How many operations to run (each may make several requests). */
  operations: number;
  concurrency: number;
  /** Stop starting operations after this long, even if fewer ran. */
  deadlineMs: number;
  operation: (index: number) => Promise<void>;
}

export interface LoadResult {
  completed: number;
  elapsedMs: number;
  operationsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + options.deadlineMs;
  const worker = async () => {
    while (next < options.operations && performance.now() < deadline) {
      const index = next;
      next += 1;
      const operationStarted = performance.now();
      await options.operation(index);
      latencies.push(performance.now() - operationStarted);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  latencies.sort((left, right) => left - right);
  return {
    completed: latencies.length,
    elapsedMs,
    operationsPerSecond: (latencies.length / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
  };
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank]!;
}
