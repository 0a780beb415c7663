import { AsyncLocalStorage } from 'node:async_hooks';
import type { Readable } from 'node:stream';
import { backoffDelayMs, sleep, type McpToolConfig } from '@runyard/protocol';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CredentialScrubber } from '../credential-scrubber.ts';
import { sendOutbound } from '../outbound.ts';
import type { ToolContext } from '../tool.ts';
import { ToolError } from '../tool-error.ts';

/** Reads a secret of the tool's workspace, at the moment it is needed. */
export type RevealSecret = (secretName: string) => Promise<string>;

const clientInfo = { name: 'runyard', version: '0.1.0' };
/** Full jitter (`backoffDelayMs`): a wait up to 250 ms doubling, at most 10 s, after consecutive failures. */
const restartBackoff = { baseMs: 250, capMs: 10_000 };
/** What is kept of a stdio server's stderr, to explain a failed start. */
const stderrTailBytes = 2_048;

/**
 * One MCP server of one tool definition in one workspace: a connected client, opened lazily.
 * A stdio server is one child process; when it dies (or an HTTP session drops) the next use
 * connects again, waiting `restartBackoff` after consecutive failures (drawn once per failure), so a
 * server that crashes at start cannot be spawned in a tight loop.
 *
 * Every credential the connection used (secret env values, secret header values) is in `scrubber`:
 * results and error messages pass through it before anyone sees them.
 */
export class McpConnection {
  readonly scrubber = new CredentialScrubber();
  private client: Promise<Client> | undefined;
  private failures = 0;
  /** No connection attempt starts before this (epoch ms): the backoff after the last failure. */
  private reconnectAt = 0;
  private closed = false;
  private stderrTail = '';
  /** The egress guard of the tool call whose requests are being sent (see `fetchWithHeaders`). */
  private readonly callEgress = new AsyncLocalStorage<ToolContext['egress']>();

  constructor(
    readonly config: McpToolConfig,
    private readonly reveal: RevealSecret,
  ) {}

  /**
   * The connected client, connecting first when there is none (or the last one closed). Concurrent
   * callers share one connection attempt, bounded by the tool's timeout; `signal` only stops this
   * caller's wait.
   */
  connected(signal: AbortSignal): Promise<Client> {
    if (this.closed) return Promise.reject(new ToolError('unreachable', 'the MCP connection is closed'));
    const attempt = (this.client ??= this.connect().catch((error: unknown) => {
      this.client = undefined;
      this.noteFailure();
      throw error;
    }));
    return untilAborted(attempt, signal);
  }

  /** Runs `send` as part of one tool call: the HTTP requests it makes are that call's. */
  asCall<T>(egress: ToolContext['egress'], send: () => Promise<T>): Promise<T> {
    return this.callEgress.run(egress, send);
  }

  /** A call or listing worked: the server is healthy, so the next restart need not wait. */
  noteSuccess(): void {
    this.failures = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    try {
      await (await client).close();
    } catch {
      // A client that never connected has nothing to close.
    }
  }

  private noteFailure(): void {
    this.failures += 1;
    this.reconnectAt = Date.now() + backoffDelayMs(this.failures - 1, restartBackoff);
  }

  private async connect(): Promise<Client> {
    if (this.failures > 0) await sleep(this.reconnectAt - Date.now());
    const transport = this.config.transport === 'stdio' ? await this.stdioTransport() : this.httpTransport();
    const client = new Client(clientInfo, { capabilities: {} });
    client.onclose = () => {
      // The process exited or the session ended: the next use connects again.
      if (this.client !== undefined && !this.closed) {
        this.client = undefined;
        this.noteFailure();
      }
    };
    try {
      await client.connect(transport, { timeout: this.config.timeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      const tail = this.stderrTail.trim();
      throw new ToolError(
        'unreachable',
        this.scrubber.scrub(
          `could not connect to the MCP server: ${messageOf(error)}${tail === '' ? '' : ` (stderr: ${tail})`}`,
        ),
      );
    }
    return client;
  }

  private async stdioTransport(): Promise<Transport> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.config.env)) {
      env[name] = await this.resolve(value);
    }
    this.stderrTail = '';
    const transport = new StdioClientTransport({
      command: this.config.command ?? '',
      args: this.config.args,
      // Added to the SDK's minimal inherited environment (PATH, HOME, …): never Runyard's own.
      env,
      stderr: 'pipe',
    });
    // Drained (a full pipe would block the server) and only the tail kept, for error messages.
    (transport.stderr as Readable | null)?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-stderrTailBytes);
    });
    return transport;
  }

  private httpTransport(): Transport {
    return new StreamableHTTPClientTransport(new URL(this.config.url ?? ''), {
      // Every request of the session goes out through sendOutbound, where the egress policy and
      // the SSRF guard apply (EGRESS: nothing MCP-specific to add here). Secret header values are
      // read per request, so a rotated secret is used at once.
      fetch: (url, init) => this.fetchWithHeaders(url, init),
    });
  }

  private async fetchWithHeaders(url: string | URL, init: RequestInit | undefined): Promise<Response> {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    for (const [name, value] of Object.entries(this.config.headers)) {
      headers[name.toLowerCase()] = await this.resolve(value);
    }
    const body = init?.body;
    if (body !== undefined && body !== null && typeof body !== 'string') {
      throw new ToolError('error', 'the MCP transport sent a body that is not text');
    }
    // EGRESS: the guard of the tool call (or discovery) this request belongs to; the connection and
    // its listening GET stream are opened within the first one. No guard: sendOutbound refuses.
    const egress = this.callEgress.getStore();
    return sendOutbound(
      {
        method: init?.method ?? 'GET',
        url: new URL(url),
        headers,
        ...(typeof body === 'string' && { body }),
      },
      init?.signal ?? new AbortController().signal,
      egress,
    );
  }

  private async resolve(value: string | { secret: string }): Promise<string> {
    if (typeof value === 'string') return value;
    let plain: string;
    try {
      plain = await this.reveal(value.secret);
    } catch (error) {
      throw new ToolError('credentials', `secret '${value.secret}' could not be read: ${messageOf(error)}`);
    }
    this.scrubber.add(plain);
    return plain;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `promise`, or the signal's reason as soon as it is aborted (the work itself goes on for others). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
