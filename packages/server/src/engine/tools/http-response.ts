import type { CredentialScrubber } from './credential-scrubber.ts';
import type { KeptArtifact } from './tool.ts';

/** What the model receives from an http tool, whatever the status: it can react to a 404 or a 500. */
export interface HttpToolResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, text, or null for an empty body; cut at maxResponseBytes with a marker. */
  body: unknown;
}

/**
 * Reading stops here (or just past what an artifact keeps, when that is more): enough to report
 * the size of any reasonable answer without holding an endless stream open.
 */
export const readCeilingBytes = 16 * 1024 * 1024;

/** Response headers the model may see: descriptive ones only, never cookies or auth challenges. */
const visibleHeaders = new Set([
  'content-type',
  'content-length',
  'content-language',
  'content-disposition',
  'etag',
  'last-modified',
  'location',
  'retry-after',
  'x-request-id',
]);
const visibleHeaderPrefixes = ['x-ratelimit-', 'ratelimit'];

export interface ReadBody {
  /** The first `maxBytes` bytes read (all of them when not truncated). */
  kept: Buffer;
  /** Bytes in the body: counted up to the read ceiling, or the Content-Length beyond that. */
  totalBytes: number;
  truncated: boolean;
  /** Reading stopped at the read ceiling, so totalBytes may be a lower bound. */
  stoppedEarly: boolean;
}

/** Reads the body, keeping at most `maxBytes` and counting the rest (up to the read ceiling). */
export async function readBody(response: Response, maxBytes: number): Promise<ReadBody> {
  // Past what is kept, so that a body of exactly `maxBytes` is known not to be truncated.
  const ceilingBytes = Math.max(readCeilingBytes, maxBytes + 1);
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  let stoppedEarly = false;
  if (response.body !== null) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (kept < maxBytes) {
        const take = Math.min(value.byteLength, maxBytes - kept);
        chunks.push(Buffer.from(value.subarray(0, take)));
        kept += take;
      }
      if (total >= ceilingBytes) {
        stoppedEarly = true;
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
  }
  const declared = Number(response.headers.get('content-length'));
  const totalBytes = stoppedEarly && Number.isFinite(declared) && declared > total ? declared : total;
  return { kept: Buffer.concat(chunks), totalBytes, truncated: total > kept, stoppedEarly };
}

function isJson(contentType: string): boolean {
  return /^application\/(.+\+)?json\b/i.test(contentType) || /\bjson\b/i.test(contentType);
}

function isText(contentType: string): boolean {
  return (
    contentType === '' ||
    /^text\//i.test(contentType) ||
    /(xml|javascript|ecmascript|x-www-form-urlencoded|yaml|csv|graphql)/i.test(contentType) ||
    isJson(contentType)
  );
}

/** Drops a UTF-8 sequence cut in half at the end, so the kept text ends on a whole character. */
function wholeCharacters(bytes: Buffer): Buffer {
  let end = bytes.length;
  let back = 0;
  while (end - back - 1 >= 0 && back < 3 && ((bytes[end - back - 1] ?? 0) & 0xc0) === 0x80) back += 1;
  const lead = bytes[end - back - 1];
  if (lead === undefined) return bytes;
  const needed = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  if (needed > back) end = end - back - 1;
  return bytes.subarray(0, end);
}

/** True when the model cannot be shown all of the body: it gets the first `maxResponseBytes`. */
export function tooLargeForModel(read: ReadBody, maxResponseBytes: number): boolean {
  return read.totalBytes > maxResponseBytes;
}

/** Where a body the model sees only part of is kept; `whole` says it when all of it is. */
function whereKept(artifact: KeptArtifact, whole: string): string {
  return artifact.truncated
    ? `its first ${artifact.sizeBytes} bytes are kept as run artifact ${artifact.id}`
    : `${whole} run artifact ${artifact.id}`;
}

/** The end of a cut body's text: what the model saw of how many bytes, and where the rest is. */
function truncationMarker(shownBytes: number, total: string, artifact: KeptArtifact | undefined): string {
  if (artifact === undefined) return `…[truncated: ${shownBytes} of ${total} bytes]`;
  return `…[truncated: ${shownBytes} of ${total} bytes; ${whereKept(artifact, 'the whole body is kept as')}]`;
}

/**
 * The result for the model: safe headers, the body parsed or as text, credentials scrubbed from
 * both. A body over `maxResponseBytes` is cut there with a marker that names the artifact holding
 * the whole of it, when one was kept.
 */
export function toResult(
  response: Response,
  read: ReadBody,
  scrubber: CredentialScrubber,
  maxResponseBytes: number,
  artifact?: KeptArtifact,
): HttpToolResult {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (visibleHeaders.has(name) || visibleHeaderPrefixes.some((prefix) => name.startsWith(prefix))) {
      headers[name] = scrubber.scrub(value);
    }
  });
  const contentType = response.headers.get('content-type') ?? '';
  const total = read.stoppedEarly ? `at least ${read.totalBytes}` : String(read.totalBytes);
  let body: unknown;
  if (read.totalBytes === 0) {
    body = null;
  } else if (!isText(contentType)) {
    body =
      artifact === undefined
        ? `[binary body: ${read.totalBytes} bytes of ${contentType}]`
        : `[binary body: ${total} bytes of ${contentType}; ${whereKept(artifact, 'kept whole as')}]`;
  } else if (tooLargeForModel(read, maxResponseBytes)) {
    const shown = wholeCharacters(read.kept.subarray(0, maxResponseBytes));
    const text = scrubber.scrub(shown.toString('utf8'));
    body = `${text}${truncationMarker(shown.length, total, artifact)}`;
  } else {
    // Scrubbed as text first: a credential inside a JSON string is found in its escaped form too.
    const text = scrubber.scrub(read.kept.toString('utf8'));
    body = text;
    if (isJson(contentType)) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
  }
  return { status: response.status, headers, body };
}
