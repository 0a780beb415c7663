import { createHash } from 'node:crypto';
import { abortScope } from '../abort-scope.ts';
import type { ToolAuth } from '@runyard/protocol';
import type { CredentialScrubber } from './credential-scrubber.ts';
import type { IssuedToken, OAuth2TokenCache } from './oauth2-token-cache.ts';
import type { EgressGuard } from '../policies/egress-guard.ts';
import { sendOutbound } from './outbound.ts';
import { ToolError } from './tool-error.ts';

/** Where an http tool gets its credentials, at call time only. */
export interface CredentialSource {
  /** The plaintext of a secret of the tool's workspace. */
  reveal(secretName: string): Promise<string>;
  tokens: OAuth2TokenCache;
  /** Separates the token caches of workspaces. */
  scope: string;
}

export interface AppliedCredentials {
  headers: Record<string, string>;
  query: [string, string][];
}

const tokenAnswerLimitBytes = 65_536;

/**
 * Turns a tool's `auth` into headers and query parameters for one call. Every value it reads or
 * receives (secrets, encodings of them, OAuth2 access tokens) is added to the call's scrubber first.
 */
export class HttpAuthenticator {
  private oauthKey: string | undefined;
  private accessToken: string | undefined;

  constructor(
    private readonly auth: ToolAuth,
    private readonly source: CredentialSource,
    private readonly scrubber: CredentialScrubber,
    /** Token requests are decided by the egress policy like the call's own (docs/architecture/policies.md). */
    private readonly egress: EgressGuard,
  ) {}

  /** Only OAuth2 can get a fresh credential after a 401. */
  get refreshable(): boolean {
    return this.auth.type === 'oauth2';
  }

  async credentials(signal: AbortSignal, timeoutMs: number): Promise<AppliedCredentials> {
    const auth = this.auth;
    switch (auth.type) {
      case 'none':
        return { headers: {}, query: [] };
      case 'apiKey': {
        const value = await this.secret(auth.value.secret);
        const sent = `${auth.prefix ?? ''}${value}`;
        return auth.in === 'header'
          ? { headers: { [auth.name.toLowerCase()]: sent }, query: [] }
          : { headers: {}, query: [[auth.name, sent]] };
      }
      case 'bearer': {
        const token = await this.secret(auth.token.secret);
        return { headers: { authorization: `Bearer ${token}` }, query: [] };
      }
      case 'basic': {
        const password = await this.secret(auth.password.secret);
        const encoded = Buffer.from(`${auth.username}:${password}`, 'utf8').toString('base64');
        this.scrubber.add(encoded);
        return { headers: { authorization: `Basic ${encoded}` }, query: [] };
      }
      case 'oauth2': {
        const clientSecret = await this.secret(auth.clientSecret.secret);
        const key = JSON.stringify([
          this.source.scope,
          auth.tokenUrl,
          auth.clientId,
          [...auth.scopes].sort(),
          auth.audience ?? null,
          createHash('sha256').update(clientSecret).digest('hex'),
        ]);
        this.oauthKey = key;
        const token = await this.source.tokens.get(key, () =>
          this.requestToken(auth, clientSecret, signal, timeoutMs),
        );
        this.scrubber.add(token);
        this.accessToken = token;
        return { headers: { authorization: `Bearer ${token}` }, query: [] };
      }
    }
  }

  /** After a 401: drops the cached OAuth2 token so the next `credentials` fetches a new one. */
  invalidate(): void {
    if (this.oauthKey !== undefined && this.accessToken !== undefined) {
      this.source.tokens.invalidate(this.oauthKey, this.accessToken);
    }
  }

  private async secret(name: string): Promise<string> {
    let value: string;
    try {
      value = await this.source.reveal(name);
    } catch {
      throw new ToolError('credentials', `the secret '${name}' named in the tool's auth could not be read`);
    }
    this.scrubber.add(value);
    return value;
  }

  /** The client credentials grant (RFC 6749 §4.4), the client authenticated with HTTP Basic (§2.3.1). */
  private async requestToken(
    auth: Extract<ToolAuth, { type: 'oauth2' }>,
    clientSecret: string,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<IssuedToken> {
    const basic = Buffer.from(
      `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(clientSecret)}`,
      'utf8',
    ).toString('base64');
    this.scrubber.add(basic);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scopes.length > 0) form.set('scope', auth.scopes.join(' '));
    if (auth.audience !== undefined) form.set('audience', auth.audience);
    const url = new URL(auth.tokenUrl);
    const where = `${url.origin}${url.pathname}`;
    let response: Response;
    let text: string;
    const attempt = abortScope(signal, timeoutMs);
    try {
      response = await sendOutbound(
        {
          method: 'POST',
          url,
          headers: {
            authorization: `Basic ${basic}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: form.toString(),
          purpose: 'token',
        },
        attempt.signal,
        this.egress,
      );
      text = (await response.text()).slice(0, tokenAnswerLimitBytes);
    } catch (error) {
      signal.throwIfAborted();
      if (error instanceof ToolError) throw error;
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      throw new ToolError(
        'credentials',
        timedOut
          ? `the OAuth2 token endpoint ${where} did not answer within ${timeoutMs} ms`
          : `the OAuth2 token endpoint ${where} could not be reached: ${networkReason(error)}`,
      );
    } finally {
      attempt.dispose();
    }
    const answer = parseObject(text);
    const accessToken = answer?.access_token;
    if (!response.ok || typeof accessToken !== 'string' || accessToken === '') {
      const reason = [answer?.error, answer?.error_description]
        .filter((part): part is string => typeof part === 'string')
        .join(': ')
        .slice(0, 300);
      throw new ToolError(
        'credentials',
        this.scrubber.scrub(
          `the OAuth2 token endpoint ${where} answered HTTP ${response.status} without an access token` +
            (reason === '' ? '' : ` (${reason})`),
        ),
      );
    }
    this.scrubber.add(accessToken);
    const tokenType = answer?.token_type;
    if (typeof tokenType === 'string' && tokenType.toLowerCase() !== 'bearer') {
      throw new ToolError(
        'credentials',
        `the OAuth2 token endpoint ${where} issued a '${tokenType.slice(0, 40)}' token; only bearer tokens are supported`,
      );
    }
    const expiresIn = Number(answer?.expires_in);
    return {
      accessToken,
      expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
    };
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The system's code for a failed connection (ECONNREFUSED, ENOTFOUND…), never a URL or header. */
export function networkReason(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return 'connection failed';
}
