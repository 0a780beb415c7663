/**
 * Just enough of `fetch` for the AI SDK's OpenAI chat model, over node:http with a keep-alive agent
 * instead of undici. Used only by the floor variant that shows how much of a model call's CPU time
 * is undici's fetch rather than the AI SDK's own stream parsing (see bench/README.md).
 */
import http from 'node:http';
import { Readable } from 'node:stream';

export function createNodeHttpFetch(maxSockets: number): { fetch: typeof fetch; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const nodeFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (init?.body !== undefined && init.body !== null && typeof init.body !== 'string') {
        reject(new TypeError('this fetch sends string bodies only'));
        return;
      }
      const request = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: init?.method ?? 'GET',
          headers: headerRecord(init?.headers),
          ...(init?.signal !== undefined && init.signal !== null && { signal: init.signal }),
        },
        (response) => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          resolve(
            new Response(Readable.toWeb(response) as ReadableStream<Uint8Array>, {
              status: response.statusCode ?? 0,
              headers,
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(init?.body ?? undefined);
    });
  return { fetch: nodeFetch, close: () => agent.destroy() };
}

function headerRecord(headers: HeadersInit | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    record[name] = value;
  });
  return record;
}
