import { isFinalRunStatus, type RunEvent, type Usage } from '@runyard/protocol';
import type { AgentRecord, RunRecord } from '../../store/index.ts';
import type { PauseCollector } from '../approvals/run-pause.ts';
import type { EngineDependencies } from '../engine-dependencies.ts';
import { EngineError } from '../engine-error.ts';
import type { RunLog } from './run-log.ts';
import { addToTotals } from '../loop/usage-totals.ts';
import type { LoopState } from '../loop/stop-conditions.ts';
import type { ChildRunner, ChildRunRequest, ChildRunResult } from '../tools/tool.ts';
import { ToolError } from '../tools/tool-error.ts';

/**
 * How deep agent tools may nest: a top-level run has depth 0, its children 1… A call that would
 * start a child deeper than this is an error result for the model, so an agent that calls itself
 * stops here instead of recursing until something breaks.
 */
export const maxChildRunDepth = 5;

type ExecuteRun = (dependencies: EngineDependencies, run: RunRecord, signal: AbortSignal) => Promise<void>;

/** Events of a child that are not forwarded into its parent's log: the child's own log keeps them. */
const unforwarded = new Set<RunEvent['type']>(['text-delta', 'usage']);

/** Adds a child's usage and cost to its parent's: the parent's budgets count them. */
export function addChildUsage(state: LoopState, usage: Usage, costUsd: number): void {
  addToTotals(state, usage, { costUsd, known: true });
}

/**
 * The child runs of one executing run (docs/architecture/tools.md#agent-tools). A child is a
 * normal run (its own row, its own event log) of another agent, stateless, linked to its parent by
 * `parent_run_id` and the tool call. It is executed inline, by the parent's worker under the
 * parent's signal, never through the queue: a parent waiting for a queued child could hold the
 * last free worker slot, and with every slot held by parents nothing would ever run.
 *
 * Durability: a resumed parent looks for the child its tool call started. A finished one is not
 * run again: its result is the tool's. An unfinished one (the parent's worker died or let go of it
 * mid-child) is ended `WORKER_LOST` and a new child is started for the same call.
 *
 * Pauses (docs/architecture/approvals.md#child-runs): a child whose call needs approval pauses
 * like any run (requires_action, its approvals naming the top-level run as their root); its call
 * in the parent then waits for the child's pending approvals, so the parent pauses after its step
 * and lists them. Decisions resume the top-level run; when the parent executes the step again, a
 * paused child that waits for nothing more executes again from its journal (never `WORKER_LOST`).
 */
export class ChildRuns implements ChildRunner {
  readonly endedBefore: { usage: Usage; costUsd: number }[] = [];
  onEnded: ((usage: Usage, costUsd: number) => void) | undefined;
  /** Whether a child paused in this execution: if the parent ends instead, it must not wait on. */
  paused = false;
  /** Calls whose `child-run-end` the parent's log holds: their usage is already counted. */
  private readonly endedCalls = new Set<string>();

  constructor(
    private readonly dependencies: EngineDependencies,
    private readonly parent: RunRecord,
    private readonly log: RunLog,
    events: readonly RunEvent[],
    private readonly executeRun: ExecuteRun,
    /** The parent's waiting calls: a paused child's call is recorded there. */
    private readonly pauses?: PauseCollector,
  ) {
    for (const event of events) {
      if (event.type === 'child-run-end' && !this.endedCalls.has(event.toolCallId)) {
        this.endedCalls.add(event.toolCallId);
        this.endedBefore.push({ usage: event.usage, costUsd: event.costUsd });
      }
    }
  }

  async run(request: ChildRunRequest, signal: AbortSignal): Promise<ChildRunResult> {
    const { store } = this.dependencies;
    const depth = (this.parent.depth ?? 0) + 1;
    if (depth > maxChildRunDepth) {
      throw new ToolError(
        'error',
        `agent tools nest at most ${maxChildRunDepth} runs deep; this run is already ${depth - 1} deep`,
      );
    }
    const [latest] = await store.runs.childrenOfCall(this.parent.id, request.toolCallId);
    let child: RunRecord;
    if (latest !== undefined && (isFinalRunStatus(latest.status) || isPaused(latest))) {
      child = latest;
    } else {
      if (latest !== undefined) await this.endLost(latest);
      child = await this.start(request, depth);
      child = await this.execute(child, request, signal);
    }
    child = await this.continuePaused(child, request, signal);
    const result: ChildRunResult = {
      runId: child.id,
      status: child.status,
      output: child.output,
      error: child.error,
    };
    if (!this.endedCalls.has(request.toolCallId) && isFinalRunStatus(child.status)) {
      this.endedCalls.add(request.toolCallId);
      const usage = {
        inputTokens: child.inputTokens,
        outputTokens: child.outputTokens,
        totalTokens: child.inputTokens + child.outputTokens,
      };
      this.log.emit({
        type: 'child-run-end',
        step: request.step,
        toolCallId: request.toolCallId,
        runId: child.id,
        status: child.status,
        error: child.error,
        usage,
        costUsd: child.costUsd,
      });
      this.onEnded?.(usage, child.costUsd);
    }
    signal.throwIfAborted();
    return result;
  }

  /**
   * A paused child: while it waits for approvals its call waits too (the parent pauses); once
   * nothing it waits for is pending it executes again, resumed from its journal, and may end or
   * pause again.
   */
  private async continuePaused(
    child: RunRecord,
    request: ChildRunRequest,
    signal: AbortSignal,
  ): Promise<RunRecord> {
    const { store } = this.dependencies;
    let current = child;
    while (isPaused(current)) {
      const action = current.status === 'requires_action' ? current.requiredAction : null;
      const waiting = action?.type === 'approval' ? await store.approvals.pendingAmong(action.approvals) : [];
      if (waiting.length > 0) {
        if (this.pauses === undefined) {
          throw new ToolError(
            'error',
            `the agent's run ${current.id} waits for approval; this run cannot wait`,
          );
        }
        this.paused = true;
        throw this.pauses.pause({
          kind: 'child',
          toolCallId: request.toolCallId,
          runId: current.id,
          approvals: waiting,
        });
      }
      const reopened = await store.runs.reopenChild(current.id, new Date().toISOString());
      if (reopened !== undefined) {
        current = await this.execute(reopened, request, signal);
        continue;
      }
      // Not reopened: it ended (POST /v1/runs/{child}/cancel) since it was read.
      const latest = await store.runs.getById(current.id);
      if (latest === undefined || isPaused(latest)) {
        throw new ToolError('error', `the agent's run ${current.id} could not be resumed`);
      }
      current = latest;
    }
    return current;
  }

  /** Records the child (running: it is never claimable) and announces it in the parent's log. */
  private async start(request: ChildRunRequest, depth: number): Promise<RunRecord> {
    const { store } = this.dependencies;
    const agent = await store.agents.find(this.parent.workspaceId, request.agentId);
    if (agent === undefined) {
      throw new ToolError('error', `the agent '${request.agentId}' of this tool no longer exists`);
    }
    const version = versionOf(agent, request.environment);
    const now = new Date().toISOString();
    const child: RunRecord = {
      id: this.dependencies.newRunId(),
      workspaceId: this.parent.workspaceId,
      agentId: agent.id,
      agentVersion: version,
      threadId: null,
      status: 'running',
      input: [{ role: 'user', content: request.input }],
      output: null,
      error: null,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      costIncomplete: false,
      iterations: 0,
      metadata: {},
      options: {
        environment: request.environment,
        mode: 'background',
        onConflict: 'enqueue',
        stateless: true,
      },
      callbackUrl: null,
      callbackSecret: null,
      cancelRequested: false,
      leaseOwner: null,
      leaseExpiresAt: null,
      claims: 1,
      createdAt: now,
      startedAt: now,
      finishedAt: null,
      updatedAt: now,
      parentRunId: this.parent.id,
      parentToolCallId: request.toolCallId,
      depth,
    };
    await store.runs.insert(child);
    this.log.emit({
      type: 'child-run-start',
      step: request.step,
      toolCallId: request.toolCallId,
      runId: child.id,
      agentId: agent.id,
    });
    return child;
  }

  /**
   * Executes the child under the parent's signal and a cancel of its own (`POST
   * /v1/runs/{child}/cancel` reaches no worker: no worker claimed it). Its stored events are
   * forwarded into the parent's log as `child-event`s while it runs.
   */
  private async execute(child: RunRecord, request: ChildRunRequest, signal: AbortSignal): Promise<RunRecord> {
    const { bus, store } = this.dependencies;
    const cancel = new AbortController();
    const stopForwarding = bus.subscribe(child.id, (events) => {
      for (const event of events) {
        if (unforwarded.has(event.type)) continue;
        this.log.emit({ type: 'child-event', toolCallId: request.toolCallId, runId: child.id, event });
      }
    });
    const stopListening = bus.onSignal((busSignal) => {
      if (busSignal.kind === 'cancel' && busSignal.runId === child.id) {
        cancel.abort(new EngineError('CANCELLED', 'the run was cancelled'));
      }
    });
    try {
      await this.executeRun(this.dependencies, child, AbortSignal.any([signal, cancel.signal]));
    } finally {
      stopForwarding();
      stopListening();
    }
    return (await store.runs.getById(child.id)) ?? child;
  }

  /** A child left unfinished by a parent's earlier worker: ended, so it never looks active again. */
  private async endLost(child: RunRecord): Promise<void> {
    const lost = new AbortController();
    lost.abort(
      new EngineError('WORKER_LOST', "its parent run's worker stopped; the parent started a new child run"),
    );
    // claims + 1: the executor reads the child's log and continues its sequence.
    await this.executeRun(
      this.dependencies,
      { ...child, claims: child.claims + 1, cancelRequested: false },
      lost.signal,
    );
  }
}

/** A child that paused (requires_action) or was resumed by a decision (queued) and waits to run again. */
const isPaused = (run: RunRecord) => run.status === 'requires_action' || run.status === 'queued';

function versionOf(agent: AgentRecord, environment: ChildRunRequest['environment']): number {
  switch (environment) {
    case 'draft':
      return agent.latestVersion;
    case 'staging':
      return agent.stagingVersion ?? agent.latestVersion;
    case 'production':
      return agent.productionVersion ?? agent.latestVersion;
    case null:
      return agent.productionVersion ?? agent.latestVersion;
  }
}
