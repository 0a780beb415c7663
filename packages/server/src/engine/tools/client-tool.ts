import type { ClientToolConfig } from '@runyard/protocol';
import type { Tool } from './tool.ts';
import { ToolError } from './tool-error.ts';

/**
 * A tool the caller executes (docs/architecture/approvals.md#client-tools). Runyard never produces
 * its result: a call is recorded in the run's pause collector and the run pauses in
 * requires_action after the step; `POST /v1/runs/{id}/tool-outputs` writes the output as the
 * call's journaled result, and the resumed step finds it there without calling `execute` again.
 */
export function createClientTool(name: string, config: ClientToolConfig): Tool {
  return {
    name,
    description: config.description,
    inputSchema: config.inputSchema,
    execute(input, context) {
      if (context.runId === null) {
        return Promise.reject(
          new ToolError(
            'invalid-input',
            `'${name}' is a client tool: it is executed by the caller of a run, not by Runyard, so it cannot be invoked`,
          ),
        );
      }
      // A child run pauses only for approvals, which its parent's caller decides; nobody would
      // send a child's tool outputs (docs/architecture/approvals.md).
      if (context.pauses?.clientCalls !== true) {
        return Promise.reject(
          new ToolError(
            'error',
            `'${name}' is a client tool: this run cannot wait for its caller (a child run waits only for approvals)`,
          ),
        );
      }
      return Promise.reject(
        context.pauses.pause({ kind: 'client', toolCallId: context.toolCallId, toolName: name, input }),
      );
    },
  };
}
