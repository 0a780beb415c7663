import type { AgentToolConfig } from '@runyard/protocol';
import type { Tool } from './tool.ts';
import { ToolError } from './tool-error.ts';

/** What the model passes to an agent tool: the message the other agent receives. */
export const agentToolInputSchema: Record<string, unknown> = {
  type: 'object',
  properties: {
    input: { type: 'string', minLength: 1, description: 'The message for the agent.' },
  },
  required: ['input'],
  additionalProperties: false,
};

/**
 * Another agent as a tool: each call is a child run of the calling run (engine/runs/child-runs.ts). The
 * result is the child's answer (its parsed object when the agent has an output schema, else its
 * text); a child that does not succeed is an error result naming its run and its error.
 */
export function createAgentTool(name: string, config: AgentToolConfig): Tool {
  return {
    name,
    description: config.description,
    inputSchema: agentToolInputSchema,
    async execute(input, context) {
      if (context.run === undefined) {
        throw new ToolError(
          'invalid-input',
          `'${name}' runs another agent as a child run: only a run can call it (start a run of that agent instead)`,
        );
      }
      const result = await context.run.children.run(
        {
          agentId: config.agent,
          environment: config.environment,
          input: (input as { input: string }).input,
          toolCallId: context.toolCallId,
          step: context.step ?? 0,
        },
        context.signal,
      );
      if (result.status !== 'succeeded' || result.output === null) {
        const why = result.error === null ? '' : `: ${result.error.code}: ${result.error.message}`;
        throw new ToolError('error', `the agent's run ${result.runId} ended ${result.status}${why}`);
      }
      return result.output.object !== undefined ? result.output.object : result.output.text;
    },
  };
}
