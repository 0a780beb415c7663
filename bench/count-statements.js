/**
 * Counts the SQL statements a server process runs, by text: preload it into the server with
 * `BENCH_SERVER_NODE_OPTIONS="--import=$PWD/bench/count-statements.js" BENCH_STATEMENT_LOG=<file>`
 * and read the file after the benchmark: each statement with its executions, most frequent first,
 * and per run (divided by the `insert into "runs"` executions). SQLite (better-sqlite3) only.
 * Plain JavaScript so that it loads before tsx registers.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';

const output = process.env.BENCH_STATEMENT_LOG;
if (output !== undefined && output !== '') {
  const require = createRequire(import.meta.url);
  const SqliteDatabase = require('better-sqlite3');
  const probe = new SqliteDatabase(':memory:');
  // Every statement shares this native prototype: wrapping its methods sees every execution.
  const prototype = Object.getPrototypeOf(probe.prepare('select 1'));
  probe.close();
  const counts = new Map();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = prototype[method];
    prototype[method] = function (...parameters) {
      counts.set(this.source, (counts.get(this.source) ?? 0) + 1);
      return original.apply(this, parameters);
    };
  }
  process.on('exit', () => {
    const runs = [...counts].find(([source]) => source.startsWith('insert into "runs"'))?.[1] ?? 0;
    const lines = [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([source, count]) => `${count}\t${runs === 0 ? '-' : (count / runs).toFixed(2)}\t${source}`);
    fs.writeFileSync(output, `runs inserted: ${runs}\ncount\tper run\tstatement\n${lines.join('\n')}\n`);
  });
}
