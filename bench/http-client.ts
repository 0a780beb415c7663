/**
 * The load generator's HTTP client: node:http over a keep-alive agent, which costs the benchmark
 * process far less CPU per request than fetch, so more of the machine is left to the server.
 */
import http from 'node:http';

export interface JsonClient {
  /** POSTs a JSON body; resolves with the status and the whole body text. */
  post(path: string, body: unknown): Promise<{ status: number; text: string }>;
  /**
   * POSTs a JSON body whose answer is an event stream; resolves when it ends, with the time from the
   * request's start to the first `data:` line and to the end, and every `data:` payload.
   */
  postStream(path: string, body: unknown): Promise<StreamedAnswer>;
  close(): void;
}

export interface StreamedAnswer {
  status: number;
  firstEventMs: number;
  totalMs: number;
  data: string[];
}

export function createJsonClient(
  baseUrl: string,
  headers: Record<string, string>,
  maxSockets: number,
): JsonClient {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  const request = (path: string, body: unknown, onResponse: (response: http.IncomingMessage) => void) => {
    const payload = JSON.stringify(body);
    const outgoing = http.request({
      agent,
      host: url.hostname,
      port: url.port,
      method: 'POST',
      path,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      },
    });
    outgoing.on('response', onResponse);
    outgoing.end(payload);
    return outgoing;
  };
  return {
    post: (path, body) =>
      new Promise((resolve, reject) => {
        request(path, body, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', reject);
        }).on('error', reject);
      }),
    postStream: (path, body) =>
      new Promise((resolve, reject) => {
        const startedMs = performance.now();
        let firstEventMs = Number.NaN;
        let pending = '';
        const data: string[] = [];
        request(path, body, (response) => {
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            pending += chunk;
            let end = pending.indexOf('\n\n');
            while (end !== -1) {
              const frame = pending.slice(0, end);
              pending = pending.slice(end + 2);
              for (const line of frame.split('\n')) {
                if (!line.startsWith('data:')) continue;
                if (Number.isNaN(firstEventMs)) firstEventMs = performance.now() - startedMs;
                data.push(line.slice(5).trim());
              }
              end = pending.indexOf('\n\n');
            }
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              firstEventMs,
              totalMs: performance.now() - startedMs,
              data,
            }),
          );
          response.on('error', reject);
        }).on('error', reject);
      }),
    close: () => agent.destroy(),
  };
}
