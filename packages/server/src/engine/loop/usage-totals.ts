import type { Usage } from '@runyard/protocol';
import type { LoopState } from './stop-conditions.ts';

/**
 * Adds one model call's (or child run's) usage and cost to the run's totals. The cost is kept to
 * nine decimals so that many small float additions do not drift; one call of unknown price makes
 * the whole total incomplete.
 */
export function addToTotals(state: LoopState, usage: Usage, cost: { costUsd: number; known: boolean }): void {
  state.usage = {
    inputTokens: state.usage.inputTokens + usage.inputTokens,
    outputTokens: state.usage.outputTokens + usage.outputTokens,
    totalTokens: state.usage.totalTokens + usage.totalTokens,
  };
  state.costUsd = Math.round((state.costUsd + cost.costUsd) * 1e9) / 1e9;
  if (!cost.known) state.costIncomplete = true;
}
