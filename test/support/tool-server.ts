import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll } from 'vitest';

/** One request the tool server received, as it arrived. */
export interface ReceivedRequest {
  method: string;
  path: string;
  query: Record<string, string[]>;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The credentials the tool server's endpoints accept; the tests store them as secrets. */
export interface ToolServerCredentials {
  apiKey: string;
  bearerToken: string;
  basicUser: string;
  basicPassword: string;
  clientId: string;
  clientSecret: string;
}

/** Fresh random credentials, each with its label in front (so a leak names what leaked). */
export function randomCredentials(mark: (label: string) => string = (label) => label): ToolServerCredentials {
  const credential = (label: string) => `${mark(label)}-${randomBytes(10).toString('hex')}`;
  return {
    apiKey: credential('api-key'),
    bearerToken: credential('bearer'),
    basicUser: 'runyard',
    basicPassword: credential('basic-password'),
    clientId: 'runyard-client',
    clientSecret: credential('client-secret'),
  };
}

/** For tests whose tools send no credential: the endpoints that need one refuse every request. */
export const unusedCredentials: ToolServerCredentials = {
  apiKey: 'unused-api-key',
  bearerToken: 'unused-bearer-token',
  basicUser: 'unused',
  basicPassword: 'unused-password',
  clientId: 'unused-client',
  clientSecret: 'unused-client-secret',
};

export interface ToolServer {
  url: string;
  requests: ReceivedRequest[];
  /** Access tokens the token endpoint issued, oldest first. */
  issuedTokens: string[];
  /** `expires_in` of the next tokens the endpoint issues. */
  tokenLifetimeSeconds: number;
  /** Tokens /oauth/* no longer accepts (as if revoked early). */
  revokedTokens: Set<string>;
  hits(path: string, method?: string): number;
}

/**
 * `bytes` bytes of deterministic noise (every byte value, invalid UTF-8, NULs): what `/blob` sends,
 * so a test can compare what it got back byte for byte.
 */
export function blobBytes(bytes: number): Buffer {
  const blocks: Buffer[] = [];
  let block = createHash('sha256').update(`blob-${bytes}`).digest();
  for (let length = 0; length < bytes; length += block.length) {
    blocks.push(block);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(blocks).subarray(0, bytes);
}

function send(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    ...headers,
  });
  response.end(text);
}

/**
 * A real HTTP API on loopback for tools to call. Endpoints:
 * - `/echo…` echoes method, path, query, headers and body (credentials included: the tool must scrub them);
 * - `/api-key/…`, `/bearer/…`, `/basic/…` answer 200 only with the right credential, else 401;
 * - `/oauth/token` issues client-credentials tokens (`tok-1-<random>-<scope>`…); `/oauth/…` accepts the live ones;
 * - `/slow` answers after 3 s; `/fail` answers 500; `/big?bytes=N` sends N bytes of JSON text;
 * - `/blob?bytes=N&type=T` sends `blobBytes(N)` as T (default application/octet-stream);
 * - `?pad=N` on an echoing endpoint adds N bytes to its answer;
 * - `/redirect/N` redirects N times before landing on `/echo/landed`; `/loop` redirects forever;
 * - `/users/{id}` and `/notes` serve the OpenAPI document's two operations.
 */
export function useToolServer(credentials: ToolServerCredentials): () => ToolServer {
  let server: http.Server | undefined;
  let state: ToolServer | undefined;
  beforeAll(async () => {
    const requests: ReceivedRequest[] = [];
    const issuedTokens: string[] = [];
    const revokedTokens = new Set<string>();
    const current: ToolServer = {
      url: '',
      requests,
      issuedTokens,
      tokenLifetimeSeconds: 3600,
      revokedTokens,
      hits: (path, method) =>
        requests.filter(
          (request) => request.path === path && (method === undefined || request.method === method),
        ).length,
    };
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://localhost');
        const query: Record<string, string[]> = {};
        for (const [name, value] of url.searchParams) (query[name] ??= []).push(value);
        const received: ReceivedRequest = {
          method: request.method ?? 'GET',
          path: url.pathname,
          query,
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        requests.push(received);
        route(current, credentials, received, response);
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    current.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    state = current;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  });
  return () => {
    if (state === undefined) throw new Error('the tool server has not started');
    return state;
  };
}

function route(
  state: ToolServer,
  credentials: ToolServerCredentials,
  request: ReceivedRequest,
  response: http.ServerResponse,
): void {
  const { path, method, headers, query } = request;
  const echo = () => ({
    method,
    path,
    query,
    headers: {
      authorization: headers.authorization,
      'x-api-key': headers['x-api-key'],
      'x-trace': headers['x-trace'],
    },
    body: request.body === '' ? null : (JSON.parse(request.body) as unknown),
    // ?pad=N makes the echo N bytes longer: a large answer that quotes the request's credentials.
    ...(query.pad !== undefined && { pad: 'p'.repeat(Number(query.pad[0])) }),
  });
  if (path.startsWith('/echo'))
    return send(response, 200, echo(), { 'set-cookie': 'session=secret', 'x-request-id': 'up-1' });
  if (path.startsWith('/api-key/')) {
    const ok =
      headers['x-api-key'] === `Key ${credentials.apiKey}` || query.api_key?.[0] === credentials.apiKey;
    return send(response, ok ? 200 : 401, ok ? echo() : { error: 'bad key' });
  }
  if (path.startsWith('/bearer/')) {
    const ok = headers.authorization === `Bearer ${credentials.bearerToken}`;
    return send(response, ok ? 200 : 401, ok ? echo() : { error: `rejected ${headers.authorization ?? ''}` });
  }
  if (path.startsWith('/basic/')) {
    const expected = Buffer.from(`${credentials.basicUser}:${credentials.basicPassword}`).toString('base64');
    const ok = headers.authorization === `Basic ${expected}`;
    return send(response, ok ? 200 : 401, ok ? echo() : { error: 'bad basic' });
  }
  if (path === '/oauth/token') {
    const expected = Buffer.from(
      `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`,
    ).toString('base64');
    const form = new URLSearchParams(request.body);
    if (headers.authorization !== `Basic ${expected}` || form.get('grant_type') !== 'client_credentials') {
      return send(response, 401, {
        error: 'invalid_client',
        error_description: `bad client ${headers.authorization ?? ''}`,
      });
    }
    const token =
      `tok-${state.issuedTokens.length + 1}-${randomBytes(8).toString('hex')}-${form.get('scope') ?? ''}`.replace(
        /\s+/g,
        '+',
      );
    state.issuedTokens.push(token);
    return send(response, 200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: state.tokenLifetimeSeconds,
    });
  }
  if (path.startsWith('/oauth/')) {
    const token = headers.authorization?.replace(/^Bearer /, '') ?? '';
    const ok = state.issuedTokens.includes(token) && !state.revokedTokens.has(token);
    return send(response, ok ? 200 : 401, ok ? echo() : { error: 'invalid_token' });
  }
  if (path === '/slow') {
    const timer = setTimeout(() => send(response, 200, { late: true }), 3000);
    response.on('close', () => clearTimeout(timer));
    return;
  }
  if (path === '/fail') return send(response, 500, { error: 'upstream broke' });
  if (path === '/big') {
    const bytes = Number(query.bytes?.[0] ?? '300000');
    return send(response, 200, JSON.stringify({ data: 'x'.repeat(bytes - 11) }), {
      'content-type': 'application/json',
    });
  }
  if (path === '/blob') {
    response.writeHead(200, { 'content-type': query.type?.[0] ?? 'application/octet-stream' });
    return void response.end(blobBytes(Number(query.bytes?.[0] ?? '1000')));
  }
  if (path.startsWith('/redirect/')) {
    const left = Number(path.slice('/redirect/'.length));
    const next = left <= 1 ? '/echo/landed' : `/redirect/${left - 1}`;
    response.writeHead(302, { location: next });
    return void response.end();
  }
  if (path === '/loop') {
    response.writeHead(307, { location: '/loop' });
    return void response.end();
  }
  if (path.startsWith('/users/') && method === 'GET') {
    return send(response, 200, {
      id: decodeURIComponent(path.slice('/users/'.length)),
      verbose: query.verbose?.[0] ?? null,
    });
  }
  if (path === '/notes' && method === 'POST')
    return send(response, 201, { created: JSON.parse(request.body) as unknown });
  send(response, 404, { error: 'no such endpoint' });
}
