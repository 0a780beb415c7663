import type { CredentialScrubber } from '../credential-scrubber.ts';

/** Binary content of an MCP result, kept whole in the result (events, journal, invoke). */
export interface McpMedia {
  type: 'image' | 'audio' | 'resource';
  mimeType: string;
  /** Base64, as the server sent it. */
  data: string;
  uri?: string;
}

/**
 * What a call of an MCP tool returns. Text content only → the joined text (a string). With
 * structured or binary content → `{text, structuredContent?, media?}`: nothing the server sent is
 * dropped. The model does not get `media[].data` (see `withoutMediaData`).
 */
export type McpToolOutput =
  string | { text: string; structuredContent?: Record<string, unknown>; media?: McpMedia[] };

interface ContentBlock {
  type: string;
  text?: unknown;
  data?: unknown;
  mimeType?: unknown;
  uri?: unknown;
  name?: unknown;
  resource?: { uri?: unknown; mimeType?: unknown; text?: unknown; blob?: unknown };
}

/** Converts a `tools/call` result; every text passes the connection's scrubber. */
export function toToolOutput(
  result: { content?: unknown; structuredContent?: unknown },
  scrubber: CredentialScrubber,
): { output: McpToolOutput; text: string } {
  const texts: string[] = [];
  const media: McpMedia[] = [];
  const blocks = Array.isArray(result.content) ? (result.content as ContentBlock[]) : [];
  for (const block of blocks) {
    switch (block.type) {
      case 'text':
        texts.push(textOf(block.text, ''));
        break;
      case 'image':
      case 'audio':
        media.push({
          type: block.type,
          mimeType: textOf(block.mimeType, ''),
          data: textOf(block.data, ''),
        });
        texts.push(`[${block.type} ${textOf(block.mimeType, '')}]`);
        break;
      case 'resource_link':
        texts.push(
          `[resource ${textOf(block.uri, '')}${block.name === undefined ? '' : ` (${textOf(block.name)})`}]`,
        );
        break;
      case 'resource': {
        const resource = block.resource ?? {};
        if (typeof resource.text === 'string') {
          texts.push(resource.text);
        } else {
          media.push({
            type: 'resource',
            mimeType: textOf(resource.mimeType, 'application/octet-stream'),
            data: textOf(resource.blob, ''),
            uri: textOf(resource.uri, ''),
          });
          texts.push(`[resource ${textOf(resource.uri, '')}]`);
        }
        break;
      }
      default:
        texts.push(`[${block.type} content]`);
    }
  }
  const text = scrubber.scrub(texts.join('\n'));
  const structured =
    typeof result.structuredContent === 'object' && result.structuredContent !== null
      ? (scrubbed(result.structuredContent, scrubber) as Record<string, unknown>)
      : undefined;
  if (structured === undefined && media.length === 0) return { output: text, text };
  return {
    output: {
      text,
      ...(structured !== undefined && { structuredContent: structured }),
      ...(media.length > 0 && { media }),
    },
    text,
  };
}

/**
 * The output as the model is given it: `media[].data` becomes a short placeholder. Providers differ
 * in whether a tool result may carry an image; a text note works with every one (the data stays in
 * the run's events and journal). Any other output is returned as it is.
 */
export function withoutMediaData(output: unknown): unknown {
  if (typeof output !== 'object' || output === null || !('media' in output)) return output;
  const media = output.media;
  if (!Array.isArray(media)) return output;
  return {
    ...output,
    media: media.map((item: unknown) => {
      if (typeof item !== 'object' || item === null) return item;
      const { data, ...rest } = item as { data?: unknown };
      const length = typeof data === 'string' ? Math.floor((data.length * 3) / 4) : 0;
      return { ...rest, data: `[${length} bytes, not shown to the model]` };
    }),
  };
}

/** A field the server should have sent as text; anything else counts as `fallback`. */
function textOf(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function scrubbed(value: unknown, scrubber: CredentialScrubber): unknown {
  if (scrubber.size === 0) return value;
  // The replacement holds no JSON syntax, and the scrubber knows the JSON-escaped forms.
  return JSON.parse(scrubber.scrub(JSON.stringify(value))) as unknown;
}
