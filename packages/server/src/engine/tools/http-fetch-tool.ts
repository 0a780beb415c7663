import { noEgress } from '../policies/egress-guard.ts';
import { abortScope } from '../abort-scope.ts';
import { networkReason } from './http-auth.ts';
import { readBody } from './http-response.ts';
import { htmlToText } from './html-to-text.ts';
import { sendOutbound } from './outbound.ts';
import type { Tool } from './tool.ts';
import { ToolError } from './tool-error.ts';

export const httpFetchTimeoutMs = 15_000;
export const httpFetchMaxBytes = 100_000;
const maxRedirects = 5;

/**
 * `http_fetch`: GET one URL under the egress policy (each redirect hop decided and address-checked
 * again by `sendOutbound`), HTML reduced to text, other text as is, at most 100 000 bytes of it
 * (then a truncation marker), 15 s for the whole fetch. Sends no credentials and no cookies.
 */
/** The URL `http_fetch` GETs for this input (its fragment dropped); invalid-input when there is none. */
function fetchedUrl(input: unknown): URL {
  let url: URL;
  try {
    url = new URL((input as { url: string }).url);
  } catch {
    throw new ToolError('invalid-input', 'url: is not a valid URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    throw new ToolError('invalid-input', 'url: must be an http(s) URL without credentials');
  }
  url.hash = '';
  return url;
}

export const httpFetchTool: Tool = {
  name: 'http_fetch',
  description: 'Fetches a web page or text document by URL (GET) and returns its readable text.',
  inputSchema: {
    type: 'object',
    properties: { url: { type: 'string', description: 'An http or https URL.', maxLength: 2048 } },
    required: ['url'],
    additionalProperties: false,
  },
  network: true,
  plannedRequest: (input) => {
    try {
      return { method: 'GET', url: fetchedUrl(input) };
    } catch {
      return undefined;
    }
  },
  execute: async (input, context) => {
    let url = fetchedUrl(input);
    const attempt = abortScope(context.signal, httpFetchTimeoutMs);
    const signal = attempt.signal;
    const egress = context.egress ?? noEgress;
    try {
      for (let hop = 0; ; hop += 1) {
        const response = await sendOutbound(
          {
            method: 'GET',
            url,
            headers: { accept: 'text/html, text/plain;q=0.9, */*;q=0.5', 'user-agent': 'Runyard http_fetch' },
            purpose: hop === 0 ? 'request' : 'redirect',
          },
          signal,
          egress,
        );
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location !== null) {
          await response.body?.cancel().catch(() => undefined);
          if (hop >= maxRedirects)
            throw new ToolError(
              'too-many-redirects',
              `${url.origin} redirected more than ${maxRedirects} times`,
            );
          url = new URL(location, url);
          url.hash = '';
          if (url.protocol !== 'http:' && url.protocol !== 'https:') {
            throw new ToolError('unreachable', `redirected to an unsupported ${url.protocol} URL`);
          }
          continue;
        }
        return await pageOf(response, url);
      }
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      if (error instanceof ToolError) throw error;
      if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new ToolError(
          'timeout',
          `GET ${url.origin}${url.pathname} did not answer within ${httpFetchTimeoutMs} ms`,
        );
      }
      throw new ToolError(
        'unreachable',
        `GET ${url.origin}${url.pathname} could not be reached: ${networkReason(error)}`,
      );
    } finally {
      attempt.dispose();
    }
  },
};

async function pageOf(
  response: Response,
  url: URL,
): Promise<{ url: string; status: number; contentType: string; text: string }> {
  const contentType = response.headers.get('content-type') ?? '';
  // HTML shrinks when reduced to text: read more of it than the text limit.
  const html = /html|xml/i.test(contentType);
  const read = await readBody(response, html ? httpFetchMaxBytes * 4 : httpFetchMaxBytes);
  let text: string;
  if (contentType !== '' && !/^text\/|json|xml|javascript/i.test(contentType)) {
    text = `[binary body: ${read.totalBytes} bytes of ${contentType}]`;
  } else {
    const raw = read.kept.toString('utf8');
    text = html ? htmlToText(raw) : raw;
    const bytes = Buffer.byteLength(text);
    if (bytes > httpFetchMaxBytes || read.truncated) {
      const kept = Buffer.from(text)
        .subarray(0, httpFetchMaxBytes)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
      text = `${kept}…[truncated: ${Buffer.byteLength(kept)} of ${read.truncated ? `at least ${read.totalBytes}` : bytes} bytes]`;
    }
  }
  return { url: `${url.origin}${url.pathname}${url.search}`, status: response.status, contentType, text };
}
