import type { MessagePart } from '@runyard/protocol';
import type { LoopMessage } from './history.ts';
import type { RunLog } from '../runs/run-log.ts';
import type { ApprovalGate } from '../approvals/approval-gate.ts';
import type { PauseCollector } from '../approvals/run-pause.ts';
import type { RunArtifacts } from '../runs/run-artifacts.ts';
import type { Tool, ToolRunScope } from '../tools/tool.ts';
import { schemaProblems } from '../tools/validate-input.ts';

export interface ToolCallRequest {
  toolCallId: string;
  toolName: string;
  /** Parsed arguments, or the raw text when they were not JSON (then `inputError` says why). */
  input: unknown;
  inputError?: string | undefined;
}

interface ToolCallContext {
  workspaceId: string;
  runId: string;
  tools: ReadonlyMap<string, Tool>;
  /** The calling run, for agent and memory tools. */
  run?: ToolRunScope | undefined;
  log: RunLog;
  signal: AbortSignal;
  /** Approvals of the run (engine/approvals); absent: approval_required is refused. */
  approvals?: ApprovalGate | undefined;
  /** The run's waiting calls: a call recorded here has no result yet and pauses the run. */
  pauses?: PauseCollector | undefined;
  /** Where calls keep files for the run (absent: they keep none). */
  artifacts?: RunArtifacts | undefined;
}

interface CallResult {
  output: unknown;
  isError: boolean;
  /** Ids of the artifacts the call kept; empty when none. */
  artifacts: readonly string[];
}

/** Model output is untrusted: arguments that are not JSON become a problem the model is told about. */
export function parseToolInput(text: string): { value: unknown; error?: string } {
  if (text.trim() === '') return { value: {} };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { value: text, error: `- (root): the arguments are not valid JSON (${(error as Error).message})` };
  }
}

/**
 * Runs a step's tool calls in parallel and returns the tool message with their results, in the
 * order of the calls. Calls already in `finished` (journaled before an interruption) are not run
 * again. A failing, unknown or badly called tool becomes an error result the model can act on.
 */
export async function executeToolCalls(
  context: ToolCallContext,
  step: number,
  calls: readonly ToolCallRequest[],
  finished: ReadonlyMap<string, { output: unknown; isError: boolean }>,
): Promise<LoopMessage> {
  const results = await Promise.all(
    calls.map(async (call): Promise<MessagePart | undefined> => {
      const done = finished.get(call.toolCallId);
      if (done !== undefined) {
        return { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, ...done };
      }
      const result = await executeOne(context, call, step);
      // A call that waits (approval, client tool) has no result: the run pauses after this step.
      if (result === undefined) return undefined;
      const { artifacts, ...outcome } = result;
      context.log.emit({
        type: 'tool-result',
        step,
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        ...outcome,
        ...(artifacts.length > 0 && { artifacts: [...artifacts] }),
      });
      return { type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, ...outcome };
    }),
  );
  return { role: 'tool', content: results.filter((result) => result !== undefined) };
}

async function executeOne(
  context: ToolCallContext,
  call: ToolCallRequest,
  step: number,
): Promise<CallResult | undefined> {
  context.signal.throwIfAborted();
  const tool = context.tools.get(call.toolName);
  const failed = (output: string): CallResult => ({ output, isError: true, artifacts: [] });
  if (tool === undefined) {
    const available = [...context.tools.keys()].join(', ') || 'none';
    return failed(`unknown tool '${call.toolName}'; available tools: ${available}`);
  }
  if (call.inputError !== undefined) return failed(`invalid arguments:\n${call.inputError}`);
  // An approver may have replaced the arguments (checked against the schema when approved).
  const input = context.approvals?.editedArguments(call.toolCallId)?.value ?? call.input;
  const problems = schemaProblems(tool.inputSchema, input);
  if (problems.length > 0) return failed(`invalid arguments:\n${problems.join('\n')}`);
  const artifacts = context.artifacts?.forCall(call.toolCallId);
  try {
    const output = await tool.execute(input, {
      workspaceId: context.workspaceId,
      runId: context.runId,
      toolCallId: call.toolCallId,
      signal: context.signal,
      run: context.run,
      step,
      reportProgress: (progress) =>
        context.log.emit({
          type: 'tool-progress',
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          ...progress,
        }),
      onPolicyDecision: (decision) => context.log.emit({ type: 'policy-decision', ...decision }),
      storeWithEvents: async (write, when) => {
        if (when === 'now') await context.log.flush(write);
        else context.log.attach(write);
      },
      approvals: context.approvals,
      pauses: context.pauses,
      artifacts,
    });
    return { output: output === undefined ? null : output, isError: false, artifacts: artifacts?.ids ?? [] };
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason;
    if (context.pauses?.has(call.toolCallId) === true) return undefined;
    return {
      output: error instanceof Error ? error.message : String(error),
      isError: true,
      artifacts: artifacts?.ids ?? [],
    };
  }
}
