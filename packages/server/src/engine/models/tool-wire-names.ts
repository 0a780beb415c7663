import { createHash } from 'node:crypto';
import type { LanguageModelV3CallOptions, LanguageModelV3Prompt } from '@ai-sdk/provider';

/**
 * Runyard tool names may contain dots (`billing.createInvoice`) and run to 128 characters; OpenAI and
 * Anthropic accept only `^[a-zA-Z0-9_-]{1,64}$`. Names are rewritten for the wire and the model's
 * calls mapped back. A name that is already valid is sent as it is, so the rewrite is invisible for
 * most tools. Invariant: within one call, distinct tool names get distinct wire names.
 */
const wireNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;

export interface ToolNameCodec {
  toWire(name: string): string;
  /** The Runyard name of a wire name the model used; unknown names come back unchanged. */
  fromWire(wireName: string): string;
}

export function toolNameCodec(names: readonly string[]): ToolNameCodec {
  const toWire = new Map<string, string>();
  const fromWire = new Map<string, string>();
  const valid = names.filter((name) => wireNamePattern.test(name));
  for (const name of valid) {
    toWire.set(name, name);
    fromWire.set(name, name);
  }
  for (const name of names) {
    if (toWire.has(name)) continue;
    let wire = sanitize(name);
    if (fromWire.has(wire)) wire = hashed(name);
    toWire.set(name, wire);
    fromWire.set(wire, name);
  }
  return {
    toWire: (name) => toWire.get(name) ?? sanitize(name),
    fromWire: (wireName) => fromWire.get(wireName) ?? wireName,
  };
}

function sanitize(name: string): string {
  if (wireNamePattern.test(name)) return name;
  const replaced = name.replace(/[^a-zA-Z0-9_-]/g, '_');
  return replaced.length >= 1 && replaced.length <= 64 ? replaced : hashed(name);
}

function hashed(name: string): string {
  const digest = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 55)}_${digest}`;
}

/** The call options with every tool name (declared tools and past calls in the prompt) in wire form. */
export function encodeToolNames(
  options: Omit<LanguageModelV3CallOptions, 'abortSignal'>,
  codec: ToolNameCodec,
): Omit<LanguageModelV3CallOptions, 'abortSignal'> {
  const tools = options.tools?.map((tool) =>
    tool.type === 'function' ? { ...tool, name: codec.toWire(tool.name) } : tool,
  );
  return { ...options, prompt: encodePrompt(options.prompt, codec), ...(tools !== undefined && { tools }) };
}

function encodePrompt(prompt: LanguageModelV3Prompt, codec: ToolNameCodec): LanguageModelV3Prompt {
  return prompt.map((message) => {
    if (message.role === 'assistant') {
      return {
        ...message,
        content: message.content.map((part) =>
          part.type === 'tool-call' || part.type === 'tool-result'
            ? { ...part, toolName: codec.toWire(part.toolName) }
            : part,
        ),
      };
    }
    if (message.role === 'tool') {
      return {
        ...message,
        content: message.content.map((part) =>
          part.type === 'tool-result' ? { ...part, toolName: codec.toWire(part.toolName) } : part,
        ),
      };
    }
    return message;
  });
}
