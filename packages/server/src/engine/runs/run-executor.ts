import type { AgentConfig, Run } from '@runyard/protocol';
import { instructionsWithTime } from '../../shared/instructions-time.ts';
import type { RunRecord, Store } from '../../store/index.ts';
import { runAgentLoop, type LoopOutcome } from '../loop/agent-loop.ts';
import { abortScope } from '../abort-scope.ts';
import type { EngineDependencies } from '../engine-dependencies.ts';
import { agentVersion } from './agent-versions.ts';
import { ApprovalGate } from '../approvals/approval-gate.ts';
import { endWaitingChildren, type StoredEnd } from '../approvals/end-waiting-children.ts';
import { pauseRun } from '../approvals/pause-run.ts';
import { PauseCollector } from '../approvals/run-pause.ts';
import { ChildRuns } from './child-runs.ts';
import { EngineError } from '../engine-error.ts';
import { fromInput } from '../loop/history.ts';
import { prepareConversation } from '../loop/history-summary.ts';
import { readJournal } from './journal.ts';
import { pricesOfCandidates, withProviderPrices } from '../models/prices.ts';
import { RunArtifacts } from './run-artifacts.ts';
import { RunLog } from './run-log.ts';
import { toRun } from './run-view.ts';

/** Why a worker let go of a run without ending it: another worker resumes it. */
export class RunReleased extends Error {}

const defaultRunTimeoutMs = 10 * 60 * 1000;

/**
 * Executes one claimed run to its end: resumes from the journal in its event log when an earlier
 * attempt was interrupted, runs the agent loop, and stores the end (thread messages, run row,
 * `run-end` event) in one transaction.
 */
export async function executeRun(
  dependencies: EngineDependencies,
  claimed: RunRecord,
  signal: AbortSignal,
): Promise<void> {
  const { store, bus } = dependencies;
  // Only an execution writes a run's events (a run cancelled while queued ends there and is never
  // claimed), so a run on its first claim has none: the log is read only when it may be resumed,
  // i.e. claimed again, or executed without a claim of its own.
  // A run resumed after a pause (approvals, client tools) has a log even on its first claim since.
  const resumed = (claimed.resumedAt ?? null) !== null;
  const events = claimed.claims === 1 && !resumed ? [] : await store.runEvents.list(claimed.id, 0, 1_000_000);
  const log = new RunLog(claimed.id, store, bus, events.at(-1)?.seq ?? 0);
  const version = await agentVersion(store, claimed.agentId, claimed.agentVersion);
  if (version === undefined) {
    await finish(
      dependencies,
      claimed,
      log,
      failed('INTERNAL_ERROR', `agent version ${claimed.agentVersion} is gone`),
      resumed,
    );
    return;
  }
  // Every read of the settings below sees the run's own overrides (compat `config`), if any.
  const config: AgentConfig = {
    ...version.config,
    settings: { ...version.config.settings, ...claimed.options.settings },
  };
  if (events.length === 0) {
    log.emit({
      type: 'run-start',
      runId: claimed.id,
      agentId: claimed.agentId,
      agentVersion: claimed.agentVersion,
      threadId: claimed.threadId,
      model: config.model,
    });
  }
  if (claimed.cancelRequested) {
    await finish(
      dependencies,
      claimed,
      log,
      failed('CANCELLED', 'the run was cancelled', 'cancelled'),
      resumed,
    );
    return;
  }

  const timeoutMs = config.settings.timeoutMs ?? defaultRunTimeoutMs;
  // Time spent paused, waiting for a human or the caller, is not the run's: it counts from its resume.
  const startedMs = Date.parse(claimed.resumedAt ?? claimed.startedAt ?? claimed.createdAt);
  const runScope = abortScope(
    signal,
    Math.max(0, startedMs + timeoutMs - Date.now()),
    () => new EngineError('RUN_TIMEOUT', `the run took longer than ${timeoutMs} ms`),
  );
  const runSignal = runScope.signal;
  let outcome: LoopOutcome;
  let children: ChildRuns | undefined;
  try {
    const daily = await dailyBudgetProblem(store, claimed, config);
    if (daily !== undefined) {
      outcome = failed('BUDGET_EXCEEDED', daily);
    } else {
      const models = [config.model, ...(config.settings.fallbackModels ?? [])];
      const conversation = await prepareConversation(store, claimed, config.settings, events);
      const candidates = await dependencies.resolveModels(claimed.workspaceId, models);
      // A child run pauses for approvals, which travel up to its parent (child-runs.ts), but
      // never for client tool outputs: its caller is a run, nobody would send them.
      const pauses = new PauseCollector((claimed.parentRunId ?? null) === null);
      children = new ChildRuns(dependencies, claimed, log, events, executeRun, pauses);
      const approvals = resumed ? await store.approvals.ofRun(claimed.id) : [];
      outcome = await runAgentLoop({
        approvals: new ApprovalGate(store, { id: claimed.id, agentId: claimed.agentId }, approvals, pauses),
        pauses,
        artifacts: new RunArtifacts(
          store,
          claimed,
          dependencies.artifactMaxBytes,
          dependencies.newArtifactId,
        ),
        workspaceId: claimed.workspaceId,
        runId: claimed.id,
        instructions:
          claimed.options.instructionsTime === true
            ? instructionsWithTime(config.instructions, claimed.createdAt)
            : config.instructions,
        messages: conversation.messages,
        summary: conversation.summary,
        journal: readJournal(events),
        settings: config.settings,
        outputSchema: config.outputSchema,
        candidates,
        tools: await dependencies.resolveTools(claimed.workspaceId, config.tools, {
          policies: config.policies,
          agentId: claimed.agentId,
        }),
        run: {
          agentId: claimed.agentId,
          threadId: claimed.threadId,
          depth: claimed.depth ?? 0,
          memory: store.agentMemory,
          children,
        },
        log,
        signal: runSignal,
        // A provider's own prices win over the table start.ts prices with.
        costOf: withProviderPrices(dependencies.costOf, pricesOfCandidates(candidates)),
        onProgress: (state) =>
          log.flush((writer) =>
            writer.runs.recordProgress(
              claimed.id,
              { ...state, inputTokens: state.usage.inputTokens, outputTokens: state.usage.outputTokens },
              new Date().toISOString(),
            ),
          ),
      });
    }
  } catch (error) {
    // An EngineError before the loop keeps its code (a model whose provider does not exist is
    // PROVIDER_ERROR, naming it); anything else is ours.
    outcome =
      error instanceof EngineError
        ? failed(error.code, error.message)
        : failed('INTERNAL_ERROR', error instanceof Error ? error.message : String(error));
  } finally {
    runScope.dispose();
  }
  if (signal.aborted && signal.reason instanceof RunReleased) {
    await log.flush().catch(() => undefined);
    return;
  }
  if (outcome.status === 'paused') {
    const paused = await pauseRun(dependencies, claimed, log, outcome);
    // Requeued at once (what it would wait for was decided meanwhile): a top-level run is claimed
    // again, a child is executed again by its parent (child-runs.ts).
    if (paused === 'requeued' && (claimed.parentRunId ?? null) === null)
      bus.signal({ kind: 'runs-available' });
    if (paused !== 'not-running') return;
    // No longer running: it was cancelled while its last step ran.
    outcome = failed('CANCELLED', 'the run was cancelled', 'cancelled');
  }
  // A resumed run may end before its step reaches the paused child it resumed for.
  await finish(dependencies, claimed, log, outcome, resumed || children?.paused === true);
}

async function dailyBudgetProblem(
  store: Store,
  run: RunRecord,
  config: AgentConfig,
): Promise<string | undefined> {
  const { dailyMaxTokens, dailyMaxCostUsd } = config.settings;
  if (dailyMaxTokens === undefined && dailyMaxCostUsd === undefined) return undefined;
  const dayStart = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
  const spent = await store.runs.usageSince(run.agentId, dayStart);
  if (dailyMaxTokens !== undefined && spent.tokens >= dailyMaxTokens) {
    return `the agent used ${spent.tokens} tokens today, its daily limit is ${dailyMaxTokens} (settings.dailyMaxTokens)`;
  }
  if (dailyMaxCostUsd !== undefined && spent.costUsd >= dailyMaxCostUsd) {
    return `the agent spent $${spent.costUsd} today, its daily limit is $${dailyMaxCostUsd} (settings.dailyMaxCostUsd)`;
  }
  return undefined;
}

function failed(
  code: EngineError['code'],
  message: string,
  status: 'failed' | 'cancelled' = 'failed',
): LoopOutcome {
  return {
    status,
    output: null,
    error: { code, message },
    produced: [],
    state: {
      iterations: 0,
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      costUsd: 0,
      costIncomplete: false,
      recentCallSignatures: [],
    },
  };
}

/** Thread messages, the run's end and its last events land together or not at all. */
async function finish(
  dependencies: EngineDependencies,
  run: RunRecord,
  log: RunLog,
  loopOutcome: LoopOutcome,
  /** A child of this run may still wait (it paused, or the run resumed for it): it ends with the run. */
  endChildren = false,
): Promise<void> {
  // A pause is stored by pauseRun, never here: should one reach this point it is a failure.
  const outcome =
    loopOutcome.status === 'paused'
      ? {
          ...loopOutcome,
          status: 'failed' as const,
          error: { code: 'INTERNAL_ERROR', message: 'a paused run was ended' },
        }
      : { ...loopOutcome, status: loopOutcome.status };
  const finishedAt = new Date().toISOString();
  const { state } = outcome;
  const progress = {
    inputTokens: state.usage.inputTokens,
    outputTokens: state.usage.outputTokens,
    costUsd: state.costUsd,
    costIncomplete: state.costIncomplete,
    iterations: state.iterations,
  };
  const final: Run = toRun({
    ...run,
    ...progress,
    status: outcome.status,
    output: outcome.output,
    error: outcome.error,
    finishedAt,
    leaseOwner: null,
    leaseExpiresAt: null,
  });
  const events = [
    ...(outcome.error === null
      ? []
      : [
          {
            type: 'error' as const,
            code: outcome.error.code,
            message: outcome.error.message,
            retrying: false,
          },
        ]),
    {
      type: 'run-end' as const,
      status: outcome.status,
      output: outcome.output,
      error: outcome.error,
      usage: state.usage,
      costUsd: state.costUsd,
    },
  ];
  let ended = false;
  let childEnds: StoredEnd[] = [];
  await log
    .finish(events, async (store) => {
      ended = await store.runs.complete(
        run.id,
        { status: outcome.status, output: outcome.output, error: outcome.error, finishedAt },
        progress,
      );
      if (!ended) throw new AlreadyEnded();
      if (endChildren) {
        const error = { code: 'CANCELLED', message: 'its parent run ended while it waited' };
        childEnds = await endWaitingChildren(store, run.id, error, finishedAt);
      }
      if (run.threadId !== null && !run.options.stateless) {
        await store.threads.appendMessages(
          run.workspaceId,
          run.threadId,
          [...fromInput(run.input), ...outcome.produced].map((message) => ({
            id: dependencies.newMessageId(),
            runId: run.id,
            role: message.role,
            content: message.content,
            createdAt: finishedAt,
          })),
        );
      }
    })
    .catch((error: unknown) => {
      if (!(error instanceof AlreadyEnded)) throw error;
    });
  for (const { runId, end } of childEnds) dependencies.bus.publish(runId, [end]);
  // Only a run with a callback URL has a delivery due now (the scheduler polls for the rest).
  if (ended && run.callbackUrl !== null) dependencies.onRunEnded?.(final);
}

/** The run had already ended (cancelled while queued): nothing of this attempt is written. */
class AlreadyEnded extends Error {}
