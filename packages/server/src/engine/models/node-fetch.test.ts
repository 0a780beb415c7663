import http from 'node:http';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeFetch } from './node-fetch.ts';

/** A real server on loopback: each path answers one way a model server can. */
function startServer(): Promise<{ base: string; close: () => void; ports: Set<number> }> {
  const ports = new Set<number>();
  const server = http.createServer((request, response) => {
    ports.add(request.socket.remotePort ?? 0);
    if (request.url === '/gzip') {
      response.writeHead(200, { 'content-encoding': 'gzip' });
      response.end(zlib.gzipSync('hello gzip'));
    } else if (request.url === '/cut') {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: 1\n\n');
      setTimeout(() => response.socket?.destroy(), 20);
    } else if (request.url === '/slow') {
      setTimeout(() => response.end('late'), 2000);
    } else if (request.url === '/redirect') {
      response.writeHead(307, { location: '/echo' });
      response.end();
    } else {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        response.writeHead(429, { 'retry-after': '1', 'set-cookie': ['a=1', 'b=2'] });
        response.end(`${request.method} ${body} ${request.headers['content-type']}`);
      });
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ base: `http://127.0.0.1:${port}`, close: () => server.close(), ports });
    }),
  );
}

describe('the engine’s node:http fetch', () => {
  const nodeFetch = createNodeFetch();
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => {
    nodeFetch.close();
    server.close();
  });

  it('sends the method, body and headers and returns status, headers and body', async () => {
    const response = await nodeFetch.fetch(`${server.base}/echo`, {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.text()).toBe('POST {"a":1} application/json');
  });

  it('decodes gzip and follows a 307 with its method and body', async () => {
    expect(await (await nodeFetch.fetch(`${server.base}/gzip`)).text()).toBe('hello gzip');
    const redirected = await nodeFetch.fetch(`${server.base}/redirect`, { method: 'POST', body: 'x' });
    expect(await redirected.text()).toBe('POST x text/plain;charset=UTF-8');
  });

  it('keeps connections alive across requests', async () => {
    const before = server.ports.size;
    for (let request = 0; request < 20; request += 1) {
      await (await nodeFetch.fetch(`${server.base}/echo`, { method: 'POST', body: String(request) })).text();
    }
    expect(server.ports.size - before).toBeLessThanOrEqual(1);
  });

  it('fails like undici: refused, cut mid-body, timed out, aborted', async () => {
    const refused = await nodeFetch.fetch('http://127.0.0.1:1/').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TypeError);
    expect(refused).toMatchObject({ message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });

    const cut = await (await nodeFetch.fetch(`${server.base}/cut`)).text().catch((error: unknown) => error);
    expect(cut).toBeInstanceOf(TypeError);
    expect(cut).toMatchObject({ message: 'terminated', cause: { code: 'ECONNRESET' } });

    const timedOut = await nodeFetch
      .fetch(`${server.base}/slow`, { signal: AbortSignal.timeout(50) })
      .catch((error: unknown) => error);
    expect(timedOut).toMatchObject({ name: 'TimeoutError' });

    const controller = new AbortController();
    const streaming = await nodeFetch.fetch(`${server.base}/cut`, { signal: controller.signal });
    const reason = new Error('cancelled by the caller');
    setTimeout(() => controller.abort(reason), 5);
    await expect(streaming.text()).rejects.toBe(reason);
  });
});
