import { randomUUID } from 'node:crypto';
import type { InvokeToolResult } from '@runyard/protocol';
import { inputIssues } from '../engine/tools/input-issues.ts';
import { ToolError } from '../engine/tools/tool-error.ts';
import type { Store } from '../store/index.ts';
import { RunyardError, invalidField, notFound } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import { PoliciesService } from './policies-service.ts';
import type { ToolRegistry } from './tool-registry.ts';

/** Direct invocation of one tool (`POST /v1/tools/{name}/invoke`), outside any run. */
export class ToolInvocation {
  constructor(
    private readonly store: Store,
    private readonly registry: ToolRegistry,
  ) {}

  /**
   * Calls one tool (`shout`, `billing.createInvoice`, `echo`) as a model's call would be made:
   * the same input check, the same credentials, the same result. A tool that produces no result
   * answers 502 TOOL_FAILED, one its policies refuse 403 POLICY_DENIED; an HTTP error status of the
   * tool's API is a result.
   */
  async invoke(
    caller: Caller,
    name: string,
    input: Record<string, unknown>,
    signal: AbortSignal,
    policyNames: readonly string[] = [],
  ): Promise<InvokeToolResult> {
    const resolved = await this.registry.resolveOne(caller.workspaceId, name);
    if (resolved === undefined) throw notFound('tool', name);
    // Under the same policies as a run: those named in the body (none: network tools send nothing).
    const policies = new PoliciesService(this.store);
    await policies.assertExist(caller.workspaceId, policyNames, 'policies');
    const tool = (
      await policies.enforce(caller.workspaceId, new Map([[name, resolved]]), {
        policies: policyNames,
        agentId: null,
      })
    ).get(name);
    if (tool === undefined) throw notFound('tool', name);
    const issues = inputIssues(tool.inputSchema, input);
    if (issues.length > 0) {
      const [first] = issues;
      const label = (path: string) => (path === '' ? 'input' : `input.${path}`);
      throw new RunyardError(
        'VALIDATION_FAILED',
        `${label(first?.path ?? '')}: ${first?.message ?? 'is invalid'}`,
        {
          location: 'body',
          issues: issues.map((issue) => ({
            path: label(issue.path),
            message: issue.message,
            code: 'invalid_value',
          })),
        },
      );
    }
    const started = performance.now();
    try {
      const output = await tool.execute(input, {
        workspaceId: caller.workspaceId,
        runId: null,
        toolCallId: `invoke_${randomUUID()}`,
        signal,
      });
      return {
        tool: name,
        output: output === undefined ? null : output,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      };
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof ToolError && error.reason === 'invalid-input')
        throw invalidField('input', error.message);
      if (error instanceof ToolError && error.refusal !== undefined) throw policyDenied(name, error);
      const reason = error instanceof ToolError ? error.reason : 'error';
      const message = error instanceof Error ? error.message : String(error);
      throw new RunyardError('TOOL_FAILED', `tool '${name}' failed: ${message}`, { tool: name, reason });
    }
  }
}

/** A refusal of the egress policy, answered as the caller's problem: nothing was sent. */
function policyDenied(name: string, error: ToolError): RunyardError {
  const { resource, policy, ruleIndex } = error.refusal ?? { resource: `tool:${name}` };
  return new RunyardError('POLICY_DENIED', `tool '${name}' was refused: ${error.message}`, {
    tool: name,
    reason: error.reason,
    resource,
    ...(policy != null && { policy }),
    ...(ruleIndex != null && { rule: ruleIndex }),
  });
}
