/**
 * The operations the run-overhead benchmark repeats: one agent run on Runyard (wait, with a thread,
 * streamed), and its floor, the same two model calls made directly with the same AI SDK model. Every
 * answer is checked, so a benchmark that measures failures fails instead.
 */
import { createOpenAI } from '@ai-sdk/openai';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3FunctionTool,
  LanguageModelV3Prompt,
} from '@ai-sdk/provider';
import { echoInput, fakeModelName, finalAnswer } from './fake-openai-server.ts';
import type { JsonClient } from './http-client.ts';

export const agentSlug = 'bench-run-overhead';
/** Runs Runyard completed for this process, warm-ups included (a CPU profile's runs). */
export const completedRuns = { count: 0 };
export const runInput = 'Say hi through the echo tool.';
const instructions = 'You are a benchmark agent. Call the echo tool, then report what it said.';
/** The builtin echo tool as the engine describes it to the model (engine/tools/builtin-tools.ts). */
const echoTool: LanguageModelV3FunctionTool = {
  type: 'function',
  name: 'echo',
  description: 'Returns the given text unchanged.',
  inputSchema: {
    type: 'object',
    properties: { text: { type: 'string', description: 'The text to return.' } },
    required: ['text'],
    additionalProperties: false,
  },
};

/** The secret, provider and agent the runs use: provider kind openai at the fake server. */
export async function setUpAgent(client: JsonClient, fakeModelUrl: string): Promise<void> {
  const expect = async (path: string, body: unknown) => {
    const answer = await client.post(path, body);
    if (answer.status !== 201) throw new Error(`POST ${path}: HTTP ${answer.status} ${answer.text}`);
  };
  await expect('/v1/secrets', { name: 'BENCH_MODEL_KEY', value: 'sk-bench-model-key' });
  await expect('/v1/providers', {
    name: 'fake',
    kind: 'openai',
    baseUrl: `${fakeModelUrl}/v1`,
    apiKey: { secret: 'BENCH_MODEL_KEY' },
  });
  await expect('/v1/agents', {
    slug: agentSlug,
    name: 'Run overhead benchmark',
    model: `fake/${fakeModelName}`,
    instructions,
    tools: ['echo'],
  });
}

interface RunAnswer {
  status?: unknown;
  output?: { text?: unknown } | null;
  error?: unknown;
}

function checkRun(status: number, text: string): void {
  if (status !== 200) throw new Error(`run: HTTP ${status} ${text}`);
  const run = JSON.parse(text) as RunAnswer;
  if (run.status !== 'succeeded' || run.output?.text !== finalAnswer) {
    throw new Error(`run ended ${String(run.status)}: ${JSON.stringify(run.output ?? run.error)}`);
  }
}

/** POST /v1/agents/{slug}/runs, mode wait: one stateless run, or one on a new thread. */
export function runyardRun(client: JsonClient, options: { stateless: boolean }) {
  return async () => {
    const answer = await client.post(`/v1/agents/${agentSlug}/runs`, {
      input: runInput,
      mode: 'wait',
      ...(options.stateless && { stateless: true }),
    });
    checkRun(answer.status, answer.text);
    completedRuns.count += 1;
  };
}

/** POST /v1/agents/{slug}/runs, mode stream: the time to the first event, and the whole stream checked. */
export async function runyardStreamedRun(
  client: JsonClient,
): Promise<{ firstEventMs: number; events: number }> {
  const answer = await client.postStream(`/v1/agents/${agentSlug}/runs`, {
    input: runInput,
    mode: 'stream',
    stateless: true,
  });
  if (answer.status !== 200) throw new Error(`streamed run: HTTP ${answer.status}`);
  const events = answer.data.map((data) => JSON.parse(data) as { type?: unknown; status?: unknown });
  const end = events.at(-1);
  if (events[0]?.type !== 'run-start' || end?.type !== 'run-end' || end.status !== 'succeeded') {
    throw new Error(`streamed run: unexpected events ${answer.data.join(' | ')}`);
  }
  completedRuns.count += 1;
  return { firstEventMs: answer.firstEventMs, events: events.length };
}

/**
 * The floor: the run's two model calls, made directly with the AI SDK model Runyard would build
 * (undici's fetch, unless another `fetch` is given).
 */
export function floorRun(fakeModelUrl: string, fetchImplementation?: typeof fetch) {
  const model: LanguageModelV3 = createOpenAI({
    baseURL: `${fakeModelUrl}/v1`,
    apiKey: 'sk-bench',
    ...(fetchImplementation !== undefined && { fetch: fetchImplementation }),
  }).chat(fakeModelName);
  const firstPrompt: LanguageModelV3Prompt = [
    { role: 'system', content: instructions },
    { role: 'user', content: [{ type: 'text', text: runInput }] },
  ];
  return async () => {
    const first = await streamStep(model, { prompt: firstPrompt, tools: [echoTool] });
    const call = first.toolCalls[0];
    if (call === undefined || call.toolName !== 'echo' || call.input !== JSON.stringify(echoInput)) {
      throw new Error(`floor: the first call did not ask for echo: ${JSON.stringify(first)}`);
    }
    const output = (JSON.parse(call.input) as { text: string }).text;
    const second = await streamStep(model, {
      prompt: [
        ...firstPrompt,
        {
          role: 'assistant',
          content: [{ type: 'tool-call', toolCallId: call.toolCallId, toolName: 'echo', input: echoInput }],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: call.toolCallId,
              toolName: 'echo',
              output: { type: 'text', value: output },
            },
          ],
        },
      ],
      tools: [echoTool],
    });
    if (second.text !== finalAnswer) throw new Error(`floor: the second call answered ${second.text}`);
  };
}

/** One streamed model call consumed to its end, as engine/models/call-model.ts does. */
async function streamStep(
  model: LanguageModelV3,
  options: LanguageModelV3CallOptions,
): Promise<{ text: string; toolCalls: { toolCallId: string; toolName: string; input: string }[] }> {
  const { stream } = await model.doStream(options);
  let text = '';
  let finished = false;
  const toolCalls: { toolCallId: string; toolName: string; input: string }[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value: part } = await reader.read();
    if (done) break;
    if (part.type === 'text-delta') text += part.delta;
    else if (part.type === 'tool-call') toolCalls.push(part);
    else if (part.type === 'finish') finished = true;
    else if (part.type === 'error') throw part.error;
  }
  if (!finished) throw new Error('floor: the model stream ended without finishing');
  return { text, toolCalls };
}
