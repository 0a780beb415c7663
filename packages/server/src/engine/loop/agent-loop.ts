import type { AgentSettings, MessagePart, RunError, RunOutput, Usage } from '@runyard/protocol';
import { callModel, type ModelCandidate, type ModelStepResult } from '../models/call-model.ts';
import { EngineError } from '../engine-error.ts';
import { toPrompt, type LoopMessage } from './history.ts';
import { summarizeHistory, type SummaryStepContext } from './history-summary.ts';
import type { JournaledStep } from '../runs/journal.ts';
import type { RunLog } from '../runs/run-log.ts';
import { executeToolCalls, parseToolInput, type ToolCallRequest } from './tool-calls.ts';
import { addChildUsage } from '../runs/child-runs.ts';
import type { ApprovalGate } from '../approvals/approval-gate.ts';
import type { PauseCollector, PendingCall } from '../approvals/run-pause.ts';
import type { RunArtifacts } from '../runs/run-artifacts.ts';
import type { Tool, ToolRunScope } from '../tools/tool.ts';
import { schemaProblems } from '../tools/validate-input.ts';
import { addToTotals } from './usage-totals.ts';
import { budgetExceeded, repeatedToolCalls, stepLimitReached, type LoopState } from './stop-conditions.ts';

export const defaultMaxIterations = 10;
const defaultMaxRetries = 3;
const defaultCallTimeoutMs = 120_000;

export interface LoopContext {
  workspaceId: string;
  runId: string;
  instructions: string;
  /** Thread history (already trimmed) followed by this run's input. */
  messages: LoopMessage[];
  /** The summary of trimmed history to put before `messages` (made first if it needs a model call). */
  summary?: SummaryStepContext | undefined;
  /** Steps of this run that finished before an interruption; they are replayed, not redone. */
  journal: JournaledStep[];
  settings: AgentSettings;
  outputSchema: Record<string, unknown> | null;
  candidates: ModelCandidate[];
  tools: ReadonlyMap<string, Tool>;
  /** What agent and memory tools see of the run; absent: they answer that they need a run. */
  run?: ToolRunScope | undefined;
  log: RunLog;
  /** Aborted with an EngineError (CANCELLED, RUN_TIMEOUT) as its reason. */
  signal: AbortSignal;
  costOf: (modelReference: string, usage: Usage) => { costUsd: number; known: boolean };
  /** Stores the run's progress together with every event emitted so far (one transaction). */
  onProgress: (state: LoopState) => Promise<void>;
  /** Approvals of the run (docs/architecture/approvals.md); absent: approval_required is refused. */
  approvals?: ApprovalGate | undefined;
  /** Calls that wait (approvals, client tools): any after a step's tool calls pause the run. */
  pauses?: PauseCollector | undefined;
  /** Where tool calls keep files for the run (an http response too large for the model). */
  artifacts?: RunArtifacts | undefined;
}

export interface LoopOutcome {
  /** paused: calls of the last step wait (`pending`); the other calls' results are in the log. */
  status: 'succeeded' | 'failed' | 'cancelled' | 'paused';
  pending?: PendingCall[];
  output: RunOutput | null;
  error: RunError | null;
  /** The assistant and tool messages this run adds to its thread. */
  produced: LoopMessage[];
  state: LoopState;
}

/**
 * The agent loop (docs/architecture/agent-loop.md):
 *
 *   replay journaled steps (finish their missing tool calls)
 *   loop:
 *     stop if maxIterations reached
 *     step ← model(instructions, messages, tools)          retries and fallbacks inside
 *     record the step; stop if a budget is exceeded
 *     no tool calls → validate against outputSchema (one corrective retry) → done
 *     stop if the same calls repeat too often
 *     run the tool calls in parallel, append their results, continue
 *
 * Cancellation and the run timeout abort the signal; whatever step is in flight stops.
 */
export async function runAgentLoop(context: LoopContext): Promise<LoopOutcome> {
  const state: LoopState = {
    iterations: 0,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    costUsd: 0,
    costIncomplete: false,
    recentCallSignatures: [],
  };
  const messages = [...context.messages];
  const produced: LoopMessage[] = [];
  const end = (
    status: LoopOutcome['status'],
    output: RunOutput | null,
    error: RunError | null,
  ): LoopOutcome => ({
    status,
    output,
    error,
    produced,
    state,
  });

  // Waiting calls in the model's order, whatever order the parallel calls reached their tools in.
  const paused = (pauses: PauseCollector, calls: readonly { toolCallId: string }[]): LoopOutcome => {
    const order = new Map(calls.map((call, index) => [call.toolCallId, index]));
    const position = (toolCallId: string) => order.get(toolCallId) ?? calls.length;
    return {
      ...end('paused', null, null),
      pending: [...pauses.calls].sort(
        (left, right) => position(left.toolCallId) - position(right.toolCallId),
      ),
    };
  };

  const children = context.run?.children;
  if (children !== undefined) {
    // Child runs (agent tools) count in this run's usage and budgets: those that ended before an
    // interruption once here, the others as they end.
    for (const ended of children.endedBefore) addChildUsage(state, ended.usage, ended.costUsd);
    children.onEnded = (usage, costUsd) => {
      addChildUsage(state, usage, costUsd);
      context.log.emit({ type: 'usage', usage: state.usage, costUsd: state.costUsd });
    };
  }
  try {
    context.signal.throwIfAborted();
    if (context.summary !== undefined) {
      const summary = await summarizeHistory(context, context.summary, state);
      if (summary !== undefined) messages.unshift(summary);
    }
    for (const step of context.journal) {
      account(context, state, step.model, step.usage);
      const assistant: LoopMessage = { role: 'assistant', content: step.content };
      messages.push(assistant);
      produced.push(assistant);
      const calls = toolCallsOf(step.content);
      if (calls.length === 0) continue;
      const results = await executeToolCalls(context, step.step, calls, step.results);
      if (context.pauses !== undefined && context.pauses.calls.length > 0)
        return paused(context.pauses, calls);
      messages.push(results);
      produced.push(results);
    }
    let corrected = false;
    for (;;) {
      const maxIterations = context.settings.maxIterations ?? defaultMaxIterations;
      if (stepLimitReached(state, maxIterations)) {
        throw new EngineError(
          'MAX_ITERATIONS',
          `the agent took ${maxIterations} steps without a final answer`,
        );
      }
      const step = state.iterations + 1;
      const result = await modelStep(context, step, messages);
      const content = stepContent(result);
      for (const part of content) {
        if (part.type === 'tool-call') {
          context.log.emit({
            type: 'tool-call',
            step,
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            input: part.input,
          });
        }
      }
      context.log.emit({
        type: 'step-end',
        step,
        finishReason: result.finishReason,
        model: result.reference,
        usage: result.usage,
        content,
      });
      account(context, state, result.reference, result.usage);
      context.log.emit({ type: 'usage', usage: state.usage, costUsd: state.costUsd });
      const exceeded = budgetExceeded(state, context.settings);
      if (exceeded !== undefined) throw new EngineError('BUDGET_EXCEEDED', exceeded);

      const assistant: LoopMessage = { role: 'assistant', content };
      messages.push(assistant);
      produced.push(assistant);
      const calls = result.toolCalls.map((call) => {
        const parsed = parseToolInput(call.inputText);
        return {
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          input: parsed.value,
          inputError: parsed.error,
        };
      });
      if (calls.length === 0) {
        if (context.outputSchema === null) return end('succeeded', { text: result.text }, null);
        const checked = checkOutput(context.outputSchema, result.text);
        if (checked.ok) return end('succeeded', { text: result.text, object: checked.value }, null);
        if (corrected) {
          throw new EngineError(
            'OUTPUT_SCHEMA_MISMATCH',
            `the answer does not match the output schema:\n${checked.problems.join('\n')}`,
          );
        }
        corrected = true;
        messages.push({
          role: 'user',
          content: [
            {
              type: 'text',
              text: `Your answer does not match the required JSON schema:\n${checked.problems.join('\n')}\nAnswer again with only a JSON value that matches the schema.`,
            },
          ],
        });
        continue;
      }
      // Progress for readers while the tools and the next step run. A step without tool calls writes
      // none: it ends the run, whose end stores the same figures, or its corrective retry writes them.
      // The step (its `step-end`, with the toolCallIds) is stored before any tool runs: a crash
      // then resumes these very calls, with the same Idempotency-Keys, instead of asking the model
      // again for calls with new ids while the first ones' side effects may already have happened.
      await context.onProgress(state);
      const repeated = repeatedToolCalls(state, calls);
      if (repeated !== undefined) throw new EngineError('TOOL_LOOP', repeated);
      const results = await executeToolCalls(context, step, calls, new Map());
      if (context.pauses !== undefined && context.pauses.calls.length > 0)
        return paused(context.pauses, calls);
      messages.push(results);
      produced.push(results);
      // A child run's usage may have used up the budget.
      const exceededByChildren = budgetExceeded(state, context.settings);
      if (exceededByChildren !== undefined) throw new EngineError('BUDGET_EXCEEDED', exceededByChildren);
    }
  } catch (error) {
    const reason: unknown = context.signal.aborted ? context.signal.reason : error;
    const failure =
      reason instanceof EngineError
        ? reason
        : new EngineError('INTERNAL_ERROR', reason instanceof Error ? reason.message : String(reason), {
            cause: reason,
          });
    return end(failure.code === 'CANCELLED' ? 'cancelled' : 'failed', null, {
      code: failure.code,
      message: failure.message,
    });
  }
}

async function modelStep(
  context: LoopContext,
  step: number,
  messages: LoopMessage[],
): Promise<ModelStepResult> {
  const { settings } = context;
  return callModel({
    candidates: context.candidates,
    options: {
      prompt: toPrompt(context.instructions, messages),
      ...(settings.temperature !== undefined && { temperature: settings.temperature }),
      ...(settings.maxOutputTokens !== undefined && { maxOutputTokens: settings.maxOutputTokens }),
      ...(context.tools.size > 0 && {
        tools: [...context.tools.values()].map((tool) => ({
          type: 'function' as const,
          name: tool.name,
          description: tool.description,
          inputSchema: tool.inputSchema,
        })),
      }),
      ...(context.outputSchema !== null && {
        responseFormat: { type: 'json' as const, schema: context.outputSchema },
      }),
    },
    signal: context.signal,
    callTimeoutMs: Math.min(defaultCallTimeoutMs, settings.timeoutMs ?? defaultCallTimeoutMs),
    maxRetries: defaultMaxRetries,
    onAttempt: (_reference, attempt) => {
      context.log.emit({ type: 'step-start', step, attempt });
      return Promise.resolve();
    },
    onTextDelta: (delta) => {
      context.log.emit({ type: 'text-delta', step, delta });
    },
    onRetry: (error) => {
      context.log.emit({ type: 'error', code: error.code, message: error.message, retrying: true });
      return Promise.resolve();
    },
  });
}

function stepContent(result: ModelStepResult): MessagePart[] {
  const content: MessagePart[] = [];
  if (result.text !== '') content.push({ type: 'text', text: result.text });
  for (const call of result.toolCalls) {
    content.push({
      type: 'tool-call',
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      input: parseToolInput(call.inputText).value,
    });
  }
  return content;
}

function toolCallsOf(content: readonly MessagePart[]): ToolCallRequest[] {
  return content.flatMap((part) =>
    part.type === 'tool-call'
      ? [{ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input }]
      : [],
  );
}

function account(context: LoopContext, state: LoopState, reference: string, usage: Usage): void {
  state.iterations += 1;
  addToTotals(state, usage, context.costOf(reference, usage));
}

function checkOutput(
  schema: Record<string, unknown>,
  text: string,
): { ok: true; value: unknown } | { ok: false; problems: string[] } {
  const unfenced = text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1');
  let value: unknown;
  try {
    value = JSON.parse(unfenced);
  } catch (error) {
    return { ok: false, problems: [`- (root): is not valid JSON (${(error as Error).message})`] };
  }
  const problems = schemaProblems(schema, value);
  return problems.length === 0 ? { ok: true, value } : { ok: false, problems };
}
