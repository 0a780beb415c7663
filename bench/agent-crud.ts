/**
 * agent-crud: agent create+get throughput of a real Runyard server (embedded SQLite) against a
 * bare-Fastify floor (floor-server.ts), driven by the same bounded load loop from this process over
 * loopback. BENCH_PAIRS (default 2000), BENCH_CONCURRENCY (default 8) and BENCH_DEADLINE_MS (default
 * 60000) tune it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, loadConfig, startServer } from '@runyard/server';
import { startFloorServer } from './floor-server.ts';
import { runLoad, type LoadResult } from './load.ts';
import { fixed, formatTable, positiveInteger, type TargetResult } from './report.ts';

const adminKey = 'ry_bench_bootstrap_key_0123456789abcdef';

/** One operation: create an agent, then read it back by slug. Both answers are checked. */
function createAndGet(baseUrl: string, headers: Record<string, string>, prefix: string) {
  return async (index: number) => {
    const slug = `${prefix}-${index}`;
    const created = await fetch(`${baseUrl}/v1/agents`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        slug,
        name: `Bench ${index}`,
        model: 'playground/playground',
        instructions: 'Answer in one sentence.',
        tags: ['bench'],
      }),
    });
    if (created.status !== 201)
      throw new Error(`create ${slug}: HTTP ${created.status} ${await created.text()}`);
    await created.arrayBuffer();
    const read = await fetch(`${baseUrl}/v1/agents/${slug}`, { headers });
    if (read.status !== 200) throw new Error(`get ${slug}: HTTP ${read.status} ${await read.text()}`);
    const body = (await read.json()) as { slug?: unknown };
    if (body.slug !== slug) throw new Error(`get ${slug}: answered ${String(body.slug)}`);
  };
}

/** Runs the benchmark, prints its table and ratio; this benchmark sets no targets. */
export async function runAgentCrudBench(): Promise<TargetResult[]> {
  const pairs = positiveInteger('BENCH_PAIRS', 2000);
  const concurrency = positiveInteger('BENCH_CONCURRENCY', 8);
  const deadlineMs = positiveInteger('BENCH_DEADLINE_MS', 60_000);
  const warmupPairs = Math.min(200, pairs);

  const measure = async (label: string, operation: (index: number) => Promise<void>): Promise<LoadResult> => {
    // Warm-up on its own slugs (JIT, connection pool, SQLite page cache), not measured.
    await runLoad({
      operations: warmupPairs,
      concurrency,
      deadlineMs,
      operation: (index) => operation(-index - 1),
    });
    const result = await runLoad({ operations: pairs, concurrency, deadlineMs, operation });
    if (result.completed < pairs) {
      process.stdout.write(
        `note: ${label} hit the ${deadlineMs} ms deadline after ${result.completed} pairs\n`,
      );
    }
    return result;
  };

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runyard-bench-'));
  const config = loadConfig({
    RUNYARD_PORT: '0',
    RUNYARD_HOST: '127.0.0.1',
    RUNYARD_DATA_DIR: dataDir,
    RUNYARD_BOOTSTRAP_KEY: adminKey,
    RUNYARD_LOG_LEVEL: 'warn',
    RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
  });
  const runyard = await startServer(config, { logger: createLogger(config), announce: () => undefined });
  const floor = await startFloorServer();

  try {
    process.stdout.write(
      `agent-crud: ${pairs} agent create+get pairs, concurrency ${concurrency}, ${warmupPairs} warm-up pairs, ` +
        `client in the same process\n\n`,
    );
    const floorResult = await measure('bare fastify', createAndGet(floor.url, {}, 'floor'));
    const runyardResult = await measure(
      'runyard',
      createAndGet(runyard.url!, { authorization: `Bearer ${adminKey}` }, 'bench'),
    );

    const rows: [string, LoadResult][] = [
      ['bare fastify (in memory)', floorResult],
      ['runyard (SQLite)', runyardResult],
    ];
    process.stdout.write(
      formatTable(
        ['target', 'pairs', 'seconds', 'pairs/s', 'requests/s', 'p50 ms', 'p99 ms', 'max ms'],
        rows.map(([label, result]) => [
          label,
          String(result.completed),
          fixed(result.elapsedMs / 1000),
          fixed(result.operationsPerSecond, 0),
          fixed(result.operationsPerSecond * 2, 0),
          fixed(result.p50Ms),
          fixed(result.p99Ms),
          fixed(result.maxMs),
        ]),
      ),
    );
    const ratio = runyardResult.operationsPerSecond / floorResult.operationsPerSecond;
    process.stdout.write(
      `\nrunyard / bare fastify, agent create+get throughput: ${ratio.toFixed(3)} ` +
        `(${(ratio * 100).toFixed(1)}% of the floor)\n`,
    );
    return [];
  } finally {
    await runyard.close();
    await floor.app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
