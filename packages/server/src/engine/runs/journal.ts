import type { MessagePart, RunEvent, Usage } from '@runyard/protocol';

/** A model step that finished before the run was interrupted, with the tool results that finished too. */
export interface JournaledStep {
  step: number;
  model: string;
  usage: Usage;
  content: MessagePart[];
  results: Map<string, { output: unknown; isError: boolean }>;
}

/**
 * Rebuilds the finished work of a run from its event log: each `step-end` is a model step whose
 * answer is durable, each `tool-result` a tool call that must not run again. A step that started
 * but has no `step-end` is redone from scratch.
 */
export function readJournal(events: readonly RunEvent[]): JournaledStep[] {
  const steps = new Map<number, JournaledStep>();
  for (const event of events) {
    // A summary of trimmed history (history-summary.ts) is not a step of the agent.
    if (event.type === 'step-end' && event.kind !== 'summary') {
      steps.set(event.step, {
        step: event.step,
        model: event.model,
        usage: event.usage,
        content: event.content,
        results: new Map(),
      });
    } else if (event.type === 'tool-result') {
      steps.get(event.step)?.results.set(event.toolCallId, { output: event.output, isError: event.isError });
    }
  }
  return [...steps.values()].sort((left, right) => left.step - right.step);
}
