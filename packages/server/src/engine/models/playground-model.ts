import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  LanguageModelV3Text,
  LanguageModelV3ToolCall,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { estimateTokens } from '../loop/token-estimate.ts';

/**
 * The built-in, offline model `playground/playground`. Deterministic, so a newcomer sees the
 * whole agent loop without a key, and tests can rely on its answers:
 *
 * - A user message containing `use <tool> {json}` (one or more times) makes it call those tools
 *   with those arguments, in parallel.
 * - After tool results it answers `<tool> returned: <result>` for each of them.
 * - Asked for JSON (an agent with an outputSchema), it answers an object that fits the schema,
 *   filling strings with the user's words.
 * - Otherwise it answers `You said: <the last user message>`.
 *
 * It streams its answer word by word and reports token usage (about four characters a token).
 */
export class PlaygroundModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider = 'playground';
  readonly supportedUrls = {};

  constructor(readonly modelId: string = 'playground') {}

  doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const reply = answer(options);
    return Promise.resolve({
      content: reply.content,
      finishReason: { unified: reply.finish, raw: reply.finish },
      usage: reply.usage,
      warnings: [],
    });
  }

  doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const reply = answer(options);
    const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }];
    for (const item of reply.content) {
      if (item.type === 'text') {
        parts.push({ type: 'text-start', id: 'text-0' });
        for (const word of item.text.match(/\S+\s*/g) ?? []) {
          parts.push({ type: 'text-delta', id: 'text-0', delta: word });
        }
        parts.push({ type: 'text-end', id: 'text-0' });
      } else {
        parts.push(item);
      }
    }
    parts.push({
      type: 'finish',
      usage: reply.usage,
      finishReason: { unified: reply.finish, raw: reply.finish },
    });
    const signal = options.abortSignal;
    let index = 0;
    const stream = new ReadableStream<LanguageModelV3StreamPart>({
      pull(controller) {
        if (signal?.aborted === true) {
          controller.error(signal.reason);
          return;
        }
        const part = parts[index];
        index += 1;
        if (part === undefined) controller.close();
        else controller.enqueue(part);
      },
    });
    return Promise.resolve({ stream });
  }
}

interface Reply {
  content: (LanguageModelV3Text | LanguageModelV3ToolCall)[];
  finish: 'stop' | 'tool-calls';
  usage: LanguageModelV3Usage;
}

const toolRequestPattern = /\buse\s+([A-Za-z0-9_.-]{1,128})\s+(\{.*?\})(?=\s+use\s|\s*$)/gs;

function answer(options: LanguageModelV3CallOptions): Reply {
  const { prompt } = options;
  const last = prompt.at(-1);
  let content: Reply['content'];
  if (last?.role === 'tool') {
    content = [{ type: 'text', text: describeToolResults(last.content) }];
  } else {
    const userText = lastUserText(prompt);
    const calls = [...userText.matchAll(toolRequestPattern)].map((match, index) => ({
      type: 'tool-call' as const,
      toolCallId: `call_${prompt.length}_${index}`,
      toolName: match[1] ?? '',
      input: match[2] ?? '{}',
    }));
    if (calls.length > 0) {
      content = calls;
    } else if (options.responseFormat?.type === 'json') {
      content = [{ type: 'text', text: JSON.stringify(sample(options.responseFormat.schema, userText)) }];
    } else {
      content = [{ type: 'text', text: `You said: ${userText}` }];
    }
  }
  const outputText = content
    .map((item) => (item.type === 'text' ? item.text : JSON.stringify(item)))
    .join('');
  const inputTokens = estimateTokens(JSON.stringify(prompt));
  const outputTokens = estimateTokens(outputText);
  return {
    content,
    finish: content.some((item) => item.type === 'tool-call') ? 'tool-calls' : 'stop',
    usage: {
      inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: outputTokens, text: outputTokens, reasoning: 0 },
    },
  };
}

function lastUserText(prompt: LanguageModelV3Prompt): string {
  for (let index = prompt.length - 1; index >= 0; index -= 1) {
    const message = prompt[index];
    if (message?.role === 'user') {
      return message.content
        .map((part) => (part.type === 'text' ? part.text : ''))
        .join(' ')
        .trim();
    }
  }
  return '';
}

function describeToolResults(
  results: Extract<LanguageModelV3Prompt[number], { role: 'tool' }>['content'],
): string {
  return results
    .map((result) => {
      if (result.type !== 'tool-result') return '';
      const output = result.output;
      const value =
        output.type === 'text' || output.type === 'error-text'
          ? output.value
          : output.type === 'json' || output.type === 'error-json'
            ? JSON.stringify(output.value)
            : output.type;
      const failed = output.type === 'error-text' || output.type === 'error-json';
      return `${result.toolName} ${failed ? 'failed' : 'returned'}: ${value}`;
    })
    .filter((line) => line !== '')
    .join('\n');
}

/** A value that fits a (simple) JSON Schema, built from the user's words. */
function sample(schema: unknown, text: string): unknown {
  if (typeof schema !== 'object' || schema === null) return text;
  const node = schema as {
    type?: string | string[];
    properties?: Record<string, unknown>;
    required?: string[];
    items?: unknown;
    enum?: unknown[];
    const?: unknown;
  };
  if (node.const !== undefined) return node.const;
  if (node.enum !== undefined && node.enum.length > 0) return node.enum[0];
  const type = Array.isArray(node.type) ? node.type[0] : node.type;
  switch (type) {
    case 'object':
    case undefined: {
      if (node.properties === undefined) return type === undefined ? text : {};
      return Object.fromEntries(
        Object.entries(node.properties).map(([key, value]) => [key, sample(value, text)]),
      );
    }
    case 'array':
      return [sample(node.items, text)];
    case 'integer':
    case 'number':
      return text.length;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return text;
  }
}
