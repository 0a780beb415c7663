import type {
  Approval,
  ApprovalScope,
  ApprovalStatus,
  ApproveApproval,
  DenyApproval,
  Run,
  RunEvent,
  SubmitToolOutputs,
} from '@runyard/protocol';
import { resolveApproval } from '../engine/approvals/resolve-approval.ts';
import { toRun } from '../engine/runs/run-view.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { ApprovalRecord, Page, PageRequest, Store } from '../store/index.ts';
import { conflict, invalidField, notFound } from '../shared/errors.ts';
import { assertMayDecide, routedApproval } from './approval-routes.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import { newId } from './ids.ts';

/** A `window` grant lasts this long unless `durationMs` says otherwise (like runagents). */
export const defaultApprovalWindowMs = 4 * 60 * 60 * 1000;

export interface ApprovalListRequest extends PageRequest {
  status?: ApprovalStatus | undefined;
  runId?: string | undefined;
  agent?: string | undefined;
}

export const toApproval = (record: ApprovalRecord): Approval => ({
  id: record.id,
  runId: record.runId,
  agentId: record.agentId,
  toolCallId: record.toolCallId,
  toolName: record.toolName,
  arguments: record.arguments,
  rule: record.rule,
  status: record.status,
  scope: record.scope,
  decidedBy: record.decidedBy,
  reason: record.reason,
  ...('editedArguments' in record && { editedArguments: record.editedArguments }),
  expiresAt: record.expiresAt,
  createdAt: record.createdAt,
  decidedAt: record.decidedAt,
});

/**
 * Human approval of paused tool calls and the outputs of client tools
 * (docs/architecture/approvals.md). Deciding the last pending item of a run puts it back in the
 * queue in the same transaction; a worker resumes it from its journal.
 */
export class ApprovalsService {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
  ) {}

  async list(caller: Caller, request: ApprovalListRequest): Promise<Page<Approval>> {
    let agentId: string | undefined;
    if (request.agent !== undefined) {
      const agent = await this.store.agents.find(caller.workspaceId, request.agent);
      agentId = agent?.id ?? request.agent;
    }
    const page = await this.store.approvals.list(
      caller.workspaceId,
      { status: request.status, runId: request.runId, agentId },
      request,
    );
    return { ...page, data: page.data.map(toApproval) };
  }

  async get(caller: Caller, id: string): Promise<Approval> {
    return toApproval(await this.require(caller, id));
  }

  /**
   * Approves a pending call: `once` this call; `run` also later calls of this run under the same
   * rule and tool; `window` also later runs of the agent until the grant expires (`durationMs`, else
   * the approval route's default, else 4 hours). 409 when it was decided (or expired) already; 403
   * when approval routes name the tool and the caller is not one of their approvers.
   */
  async approve(caller: Caller, id: string, input: ApproveApproval): Promise<Approval> {
    const approval = await this.require(caller, id);
    const scope: ApprovalScope = input.scope;
    if (input.durationMs !== undefined && scope !== 'window') {
      throw invalidField('durationMs', 'is only valid with scope window');
    }
    const routed = await routedApproval(this.store, approval);
    await assertMayDecide(this.store, caller, approval, routed);
    const decidedAt = nowIso();
    const grant =
      scope === 'window'
        ? {
            id: newId('approval'),
            workspaceId: approval.workspaceId,
            agentId: approval.agentId,
            policy: approval.rule.policy,
            ruleIndex: approval.rule.ruleIndex,
            toolName: approval.toolName,
            approvalId: approval.id,
            expiresAt: new Date(
              Date.parse(decidedAt) +
                (input.durationMs ?? routed.defaultDurationMs ?? defaultApprovalWindowMs),
            ).toISOString(),
            createdAt: decidedAt,
          }
        : undefined;
    const result = await resolveApproval(
      this.store,
      this.bus,
      approval,
      {
        status: 'approved',
        scope,
        decidedBy: caller.keyId,
        reason: null,
        ...(input.arguments !== undefined && { editedArguments: input.arguments }),
        decidedAt,
      },
      grant,
    );
    if (result === 'already-decided') throw alreadyDecided(await this.require(caller, id));
    return this.get(caller, id);
  }

  /**
   * Denies a pending call: the model gets the reason as the call's result. 409 when decided
   * already; 403 like approve for a caller who is not an approver of its routes.
   */
  async deny(caller: Caller, id: string, input: DenyApproval): Promise<Approval> {
    const approval = await this.require(caller, id);
    await assertMayDecide(this.store, caller, approval, await routedApproval(this.store, approval));
    const result = await resolveApproval(this.store, this.bus, approval, {
      status: 'denied',
      scope: null,
      decidedBy: caller.keyId,
      reason: input.reason ?? null,
      decidedAt: nowIso(),
    });
    if (result === 'already-decided') throw alreadyDecided(await this.require(caller, id));
    return this.get(caller, id);
  }

  /**
   * The outputs of client tool calls the run waits for. They are written as the calls' results in
   * the run's log (its journal: the resumed step finds them there), together with the run's next
   * wait, or its return to the queue once every call has its output.
   */
  async submitToolOutputs(caller: Caller, runId: string, input: SubmitToolOutputs): Promise<Run> {
    const seen = new Set<string>();
    for (const [index, output] of input.outputs.entries()) {
      if (seen.has(output.toolCallId)) {
        throw invalidField(`outputs.${index}.toolCallId`, `'${output.toolCallId}' is given twice`);
      }
      seen.add(output.toolCallId);
    }
    const { events, resumed } = await this.store.transaction(async (store) => {
      const run = await store.runs.get(caller.workspaceId, runId);
      if (run === undefined) throw notFound('run', runId);
      const action = run.status === 'requires_action' ? run.requiredAction : null;
      if (action?.type !== 'tool_outputs') {
        throw conflict(`run '${runId}' is not waiting for tool outputs (status ${run.status})`, {
          status: run.status,
        });
      }
      const waiting = new Map(action.toolCalls.map((call) => [call.toolCallId, call]));
      for (const [index, output] of input.outputs.entries()) {
        if (!waiting.has(output.toolCallId)) {
          throw invalidField(
            `outputs.${index}.toolCallId`,
            `run '${runId}' waits for no tool call '${output.toolCallId}' (waiting: ${[...waiting.keys()].join(', ')})`,
          );
        }
      }
      const now = nowIso();
      let seq = await store.runEvents.lastSeq(run.id);
      const results: RunEvent[] = input.outputs.map((output) => ({
        seq: (seq += 1),
        at: now,
        type: 'tool-result',
        step: action.step,
        toolCallId: output.toolCallId,
        toolName: waiting.get(output.toolCallId)?.toolName ?? '',
        output: output.output ?? null,
        isError: output.isError === true,
      }));
      await store.runEvents.append(run.id, results);
      const remaining = action.toolCalls.filter((call) => !seen.has(call.toolCallId));
      if (remaining.length === 0) await store.runs.resume(run.id, now);
      else await store.runs.setRequiredAction(run.id, { ...action, toolCalls: remaining }, now);
      return { events: results, resumed: remaining.length === 0 };
    });
    this.bus.publish(runId, events);
    if (resumed) this.bus.signal({ kind: 'runs-available' });
    const run = await this.store.runs.get(caller.workspaceId, runId);
    if (run === undefined) throw notFound('run', runId);
    return toRun(run);
  }

  private async require(caller: Caller, id: string): Promise<ApprovalRecord> {
    const approval = await this.store.approvals.get(caller.workspaceId, id);
    if (approval === undefined) throw notFound('approval', id);
    return approval;
  }
}

function alreadyDecided(approval: ApprovalRecord) {
  return conflict(`approval '${approval.id}' is already ${approval.status}`, { status: approval.status });
}
