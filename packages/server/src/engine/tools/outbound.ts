/** One HTTP request a tool sends: the first one, each redirect hop, an OAuth2 token request. */
export interface OutboundRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | undefined;
}

/**
 * Every HTTP request a tool makes leaves Runyard through this function, one hop at a time
 * (redirects are followed by the caller, never by fetch). It is the single place where the egress
 * policy and the SSRF guard will check each destination before anything is sent.
 */
export async function sendOutbound(request: OutboundRequest, signal: AbortSignal): Promise<Response> {
  return fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== undefined && { body: request.body }),
    redirect: 'manual',
    signal,
  });
}
