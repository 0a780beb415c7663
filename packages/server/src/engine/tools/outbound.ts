import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import {
  noEgress,
  type EgressGuard,
  type OutboundPurpose,
  type ResolvedAddress,
} from '../policies/egress-guard.ts';

/** One HTTP request a tool sends: the first one, each redirect hop, an OAuth2 token request. */
export interface OutboundRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | undefined;
  /** Recorded with the policy decision; `request` when absent. */
  purpose?: OutboundPurpose | undefined;
}

/**
 * Every HTTP request a tool makes leaves Runyard through this function, one hop at a time
 * (redirects are followed by the caller, never here). The guard decides the request under the
 * egress policies and resolves the host; nothing is sent when it refuses (it throws a ToolError).
 * Without a guard (a caller outside a tool call) every request is refused: egress fails closed.
 * The connection goes to the address the guard checked (a `lookup` that answers only it), while
 * the Host header and TLS name stay the URL's: a DNS answer that changes after the check is never
 * used. Connections are kept alive per origin and checked address (`poolFor`).
 */
export async function sendOutbound(
  request: OutboundRequest,
  signal: AbortSignal,
  guard: EgressGuard = noEgress,
): Promise<Response> {
  signal.throwIfAborted();
  const target = await guard.authorize(request.method, request.url, request.purpose ?? 'request');
  signal.throwIfAborted();
  return sendTo(request, target, signal);
}

function pinnedLookup(target: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) {
      (callback as unknown as (error: null, addresses: ResolvedAddress[]) => void)(null, [target]);
    } else {
      callback(null, target.address, target.family);
    }
  };
}

const nullBodyStatuses = new Set([101, 204, 205, 304]);

/** Idle pooled connections close after this: before the 5 s keep-alive of common servers (Node's included). */
const idleSocketTimeoutMs = 4000;
/** Origins kept pooled at once; the least recently used pool is dropped beyond (its sockets close idle). */
const maxPools = 128;
const pools = new Map<string, http.Agent>();

/**
 * A keep-alive pool per origin and checked address: repeated calls reuse their connections, and a
 * connection is only ever reused for a request the guard decided again, to the same host, pinned to
 * the same address (a changed DNS answer gets a pool, and a connection, of its own).
 */
function poolFor(url: URL, target: ResolvedAddress): http.Agent {
  const key = `${url.protocol}//${url.host} ${target.address}`;
  let pool = pools.get(key);
  if (pool !== undefined) {
    // Most recently used last: the Map's order is the eviction order.
    pools.delete(key);
  } else {
    const options = {
      keepAlive: true,
      maxFreeSockets: 64,
      timeout: idleSocketTimeoutMs,
      lookup: pinnedLookup(target),
    };
    pool = url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
    const oldest = pools.keys().next();
    // Not destroyed: requests in flight on it finish, then its idle sockets time out.
    if (pools.size >= maxPools && oldest.done !== true) pools.delete(oldest.value);
  }
  pools.set(key, pool);
  return pool;
}

/** One request over node:http(s) to the pinned address, answered as a fetch `Response`. */
function sendTo(request: OutboundRequest, target: ResolvedAddress, signal: AbortSignal): Promise<Response> {
  const { url } = request;
  const client = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...request.headers };
  if (
    request.body !== undefined &&
    !Object.keys(headers).some((name) => name.toLowerCase() === 'content-length')
  ) {
    headers['content-length'] = String(Buffer.byteLength(request.body));
  }
  return new Promise<Response>((resolve, reject) => {
    const outgoing = client.request(url, {
      method: request.method,
      headers,
      lookup: pinnedLookup(target),
      agent: poolFor(url, target),
    });
    const abort = () => {
      outgoing.destroy(signal.reason as Error);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', abort, { once: true });
    outgoing.on('error', (error) => {
      signal.removeEventListener('abort', abort);
      // The shape fetch gives (the system code in `cause`), which networkReason reads.
      reject(signal.aborted ? (signal.reason as Error) : new TypeError('fetch failed', { cause: error }));
    });
    outgoing.on('response', (incoming) => {
      const responseHeaders = new Headers();
      for (let index = 0; index + 1 < incoming.rawHeaders.length; index += 2) {
        try {
          responseHeaders.append(incoming.rawHeaders[index] ?? '', incoming.rawHeaders[index + 1] ?? '');
        } catch {
          // A header fetch would refuse too (invalid name or value): left out.
        }
      }
      const status = incoming.statusCode ?? 502;
      const empty = request.method === 'HEAD' || nullBodyStatuses.has(status);
      if (empty) incoming.resume();
      const stopOnAbort = () => incoming.destroy(signal.reason as Error);
      signal.removeEventListener('abort', abort);
      signal.addEventListener('abort', stopOnAbort, { once: true });
      incoming.once('close', () => signal.removeEventListener('abort', stopOnAbort));
      try {
        resolve(
          new Response(empty ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>), {
            status: status < 200 || status > 599 ? 502 : status,
            statusText: incoming.statusMessage ?? '',
            headers: responseHeaders,
          }),
        );
      } catch (error) {
        incoming.destroy();
        reject(new TypeError('fetch failed', { cause: error }));
      }
    });
    outgoing.end(request.body);
  });
}
