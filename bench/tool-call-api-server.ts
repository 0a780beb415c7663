/**
 * The API the tool-call benchmark calls: a node:http server on loopback that answers at once with a
 * small JSON body, and checks the bearer token of every call, so a call Runyard made without its
 * credential (or with a wrong one) is a 401, never a fast success.
 *
 *   POST /v1/check  {seq}  Authorization: Bearer <BENCH_API_TOKEN>  → 200 {authorized: true, seq}
 *                          anything else in Authorization           → 401 {error}
 *   GET  /stats                                    → 200 {authorized, unauthorized, connections}
 *
 * `/stats` counts the calls, so the benchmark can check at the end that the API saw exactly one
 * authorized request per call it counted (no retry, no duplicate, none without the token).
 * Run as a script it reads the token from BENCH_API_TOKEN, listens on an ephemeral port of 127.0.0.1
 * and prints `listening <url>`, so it runs as a process of its own and its CPU time is its own.
 */
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export const checkPath = '/v1/check';
export const statsPath = '/stats';

export interface ApiStats {
  authorized: number;
  unauthorized: number;
  /** TCP connections accepted: how well the callers keep their connections alive. */
  connections: number;
}

export function createToolCallApiServer(token: string): http.Server {
  const expected = Buffer.from(`Bearer ${token}`);
  const stats: ApiStats = { authorized: 0, unauthorized: 0, connections: 0 };
  const reply = (response: http.ServerResponse, status: number, body: unknown) => {
    const payload = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    });
    response.end(payload);
  };
  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && request.url === statsPath) {
      reply(response, 200, stats);
      return;
    }
    if (request.method !== 'POST' || request.url !== checkPath) {
      reply(response, 404, { error: `no route ${request.method} ${request.url}` });
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const presented = Buffer.from(request.headers.authorization ?? '');
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
        stats.unauthorized += 1;
        reply(response, 401, { error: 'missing or wrong bearer token' });
        return;
      }
      let seq: unknown;
      try {
        seq = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq?: unknown }).seq;
      } catch {
        reply(response, 400, { error: 'the body is not JSON' });
        return;
      }
      stats.authorized += 1;
      reply(response, 200, { authorized: true, seq });
    });
  });
  server.on('connection', () => {
    stats.connections += 1;
  });
  // Longer than any pause between phases: clients keep their connections across the benchmark.
  server.keepAliveTimeout = 60_000;
  return server;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const token = process.env.BENCH_API_TOKEN;
  if (token === undefined || token === '') throw new Error('BENCH_API_TOKEN is not set');
  const server = createToolCallApiServer(token);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the API server has no port');
  process.stdout.write(`listening http://127.0.0.1:${address.port}\n`);
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
