import type { AgentSettings, Usage } from '@runyard/protocol';
import { canonicalJson } from '../../shared/canonical-json.ts';
import type { ToolCallRequest } from './tool-calls.ts';

/** What the loop has spent so far; stop conditions are small predicates over it. */
export interface LoopState {
  iterations: number;
  usage: Usage;
  costUsd: number;
  costIncomplete: boolean;
  /** Signatures of the tool calls of the latest steps, newest last. */
  recentCallSignatures: string[];
}

/** The same tool calls with the same arguments this many steps in a row end the run. */
export const maxIdenticalToolSteps = 3;

export const stepLimitReached = (state: LoopState, maxIterations: number): boolean =>
  state.iterations >= maxIterations;

/** A reason when the run is over its token or cost budget, else undefined. */
export function budgetExceeded(state: LoopState, settings: AgentSettings): string | undefined {
  if (settings.maxTokens !== undefined && state.usage.totalTokens > settings.maxTokens) {
    return `the run used ${state.usage.totalTokens} tokens, over its budget of ${settings.maxTokens} (settings.maxTokens)`;
  }
  if (settings.maxCostUsd !== undefined && state.costUsd > settings.maxCostUsd) {
    return `the run cost $${state.costUsd}, over its budget of $${settings.maxCostUsd} (settings.maxCostUsd)`;
  }
  return undefined;
}

/** Records this step's calls; a reason when they repeat the previous steps' calls too often. */
export function repeatedToolCalls(state: LoopState, calls: readonly ToolCallRequest[]): string | undefined {
  const signature = canonicalJson(
    calls
      .map((call) => [call.toolName, call.input])
      .sort((left, right) => (JSON.stringify(left) < JSON.stringify(right) ? -1 : 1)),
  );
  state.recentCallSignatures = [...state.recentCallSignatures, signature].slice(-maxIdenticalToolSteps);
  const repeated =
    state.recentCallSignatures.length === maxIdenticalToolSteps &&
    state.recentCallSignatures.every((item) => item === signature);
  if (!repeated) return undefined;
  const names = [...new Set(calls.map((call) => call.toolName))].join(', ');
  return `the model called ${names} with the same arguments ${maxIdenticalToolSteps} times in a row`;
}
