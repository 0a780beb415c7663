import {
  agentSettingsSchema,
  isFinalRunStatus,
  type CreateAgentRun,
  type InputMessage,
  type Run,
  type RunArtifact,
  type RunDelivery,
  type RunEvent,
  type RunStatus,
} from '@runyard/protocol';
import { cancelUnheldRun } from '../engine/approvals/end-waiting-children.ts';
import { namesMetadataEndpoint } from '../engine/policies/addresses.ts';
import { toRun } from '../engine/runs/run-view.ts';
import type { EventBus } from '../events/event-bus.ts';
import type {
  AgentRecord,
  CallbackBodyFormat,
  Page,
  RunRecord,
  RunSettingsOverride,
  Store,
} from '../store/index.ts';
import { conflict, invalidField, notFound } from '../shared/errors.ts';
import type { Caller } from './caller.ts';
import { nowIso } from './clock.ts';
import type { SecretBox } from './crypto.ts';
import { newId } from './ids.ts';
import { runEventStream } from './run-event-stream.ts';

export interface RunListRequest {
  limit: number;
  cursor?: string | undefined;
  agent?: string | undefined;
  thread?: string | undefined;
  status?: RunStatus | undefined;
  /** Only the child runs of this run (agent tools). */
  parent?: string | undefined;
}

/** What a run may change of its agent version's settings; validated like the agent's settings. */
const runSettingsOverrideSchema = agentSettingsSchema.pick({
  temperature: true,
  maxOutputTokens: true,
  maxIterations: true,
});

/** Options of a run that the public API does not offer (compat surfaces use them). */
export interface RunCreateOptions {
  /** Overrides of the agent version's settings for this run only. */
  settings?: RunSettingsOverride;
  /** The shape of the body POSTed to `callbackUrl` (absent: the Runyard run). */
  callbackBody?: CallbackBodyFormat;
  /** Append `Current time (ISO): <the run's createdAt>` to the instructions the model gets. */
  instructionsTime?: boolean;
}

/** Events after which a waiting caller gets the run: its end, or its pause. */
const endsWait = new Set<RunEvent['type']>(['run-end', 'approval-requested', 'tool-outputs-requested']);

/** Associated data binding a sealed callback secret to its run. */
export const callbackSecretBinding = (runId: string) => `callback/${runId}`;

export class RunsService {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly box: SecretBox,
  ) {}

  /**
   * Records a queued run (and its thread, when it needs a new one) and wakes a worker. The version:
   * `version` if given, else the `environment`'s; with neither, production, or the newest version
   * (draft) when nothing is promoted yet.
   */
  async create(
    caller: Caller,
    agentIdOrSlug: string,
    input: CreateAgentRun,
    options: RunCreateOptions = {},
  ): Promise<Run> {
    const settings = runSettingsOverride(options.settings);
    const agent = await this.store.agents.find(caller.workspaceId, agentIdOrSlug);
    if (agent === undefined) throw notFound('agent', agentIdOrSlug);
    const version = pickVersion(agent, input);
    if (input.stateless === true && input.threadId !== undefined) {
      throw invalidField('threadId', 'cannot be combined with stateless: true');
    }
    if (input.callbackUrl !== undefined && namesMetadataEndpoint(new URL(input.callbackUrl))) {
      throw invalidField('callbackUrl', 'names a cloud metadata endpoint, which Runyard never calls');
    }
    const now = nowIso();
    const runId = newId('run');
    const messages: InputMessage[] =
      typeof input.input === 'string' ? [{ role: 'user', content: input.input }] : input.input;
    const record: RunRecord = {
      id: runId,
      workspaceId: caller.workspaceId,
      agentId: agent.id,
      agentVersion: version,
      threadId: null,
      status: 'queued',
      input: messages,
      output: null,
      error: null,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      costIncomplete: false,
      iterations: 0,
      metadata: input.metadata ?? {},
      options: {
        environment: input.version === undefined ? (input.environment ?? null) : null,
        mode: input.mode,
        onConflict: input.onConflict,
        stateless: input.stateless === true,
        ...(settings !== undefined && { settings }),
        ...(options.callbackBody !== undefined && { callbackBody: options.callbackBody }),
        ...(options.instructionsTime === true && { instructionsTime: true as const }),
      },
      callbackUrl: input.callbackUrl ?? null,
      callbackSecret:
        input.callbackSecret === undefined
          ? null
          : this.box.encrypt(input.callbackSecret, callbackSecretBinding(runId)),
      cancelRequested: false,
      leaseOwner: null,
      leaseExpiresAt: null,
      claims: 0,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
    };
    // A stateless run is one insert, atomic on its own; a run on a thread writes several things.
    const atomically = <T>(work: (store: Store) => Promise<T>) =>
      input.stateless === true ? work(this.store) : this.store.transaction(work);
    const interrupted = await atomically(async (store) => {
      let threadId: string | null = null;
      let toInterrupt: RunRecord[] = [];
      if (input.stateless !== true) {
        if (input.threadId === undefined) {
          threadId = newId('thread');
          await store.threads.create(caller.workspaceId, {
            id: threadId,
            title: null,
            metadata: {},
            createdAt: now,
            updatedAt: now,
          });
        } else {
          if ((await store.threads.get(caller.workspaceId, input.threadId)) === undefined) {
            throw notFound('thread', input.threadId);
          }
          threadId = input.threadId;
          const active = await store.runs.activeOnThread(threadId);
          if (active.length > 0 && input.onConflict === 'reject') {
            throw conflict(`thread '${threadId}' already has an active run`, {
              threadId,
              runs: active.map((run) => run.id),
            });
          }
          if (input.onConflict === 'interrupt') toInterrupt = active;
        }
      }
      await store.runs.insert({ ...record, threadId });
      record.threadId = threadId;
      return toInterrupt;
    });
    for (const run of interrupted) {
      await this.cancelRecord(run, 'interrupted by a newer run on its thread');
    }
    this.bus.signal({ kind: 'runs-available' });
    return toRun(record);
  }

  async get(caller: Caller, id: string): Promise<Run> {
    return toRun(await this.require(caller.workspaceId, id));
  }

  async list(caller: Caller, request: RunListRequest): Promise<Page<Run>> {
    let agentId: string | undefined;
    if (request.agent !== undefined) {
      const agent = await this.store.agents.find(caller.workspaceId, request.agent);
      // An unknown or deleted agent has no runs to show; its id may still match old runs.
      agentId = agent?.id ?? request.agent;
    }
    const page = await this.store.runs.list(
      caller.workspaceId,
      { agentId, threadId: request.thread, status: request.status, parentRunId: request.parent },
      request,
    );
    return { ...page, data: page.data.map(toRun) };
  }

  /** Cancels an active run; a run that already ended is returned as it is. */
  async cancel(caller: Caller, id: string): Promise<Run> {
    const run = await this.require(caller.workspaceId, id);
    if (!isFinalRunStatus(run.status)) await this.cancelRecord(run, 'the run was cancelled');
    return this.get(caller, id);
  }

  async events(caller: Caller, id: string, afterSeq: number, limit: number): Promise<RunEvent[]> {
    await this.require(caller.workspaceId, id);
    return this.store.runEvents.list(id, afterSeq, limit);
  }

  /** The attempts to POST the ended run to its callback URL, oldest first. */
  async deliveries(caller: Caller, id: string): Promise<RunDelivery[]> {
    await this.require(caller.workspaceId, id);
    return this.store.runDeliveries.list(id);
  }

  /** The files the run's tool calls kept (docs/architecture/tools.md#artifacts), oldest first. */
  async artifacts(caller: Caller, id: string): Promise<RunArtifact[]> {
    await this.require(caller.workspaceId, id);
    return this.store.runArtifacts.list(caller.workspaceId, id);
  }

  /** One artifact of the run with its bytes; another run's or workspace's is not found. */
  async artifact(
    caller: Caller,
    id: string,
    artifactId: string,
  ): Promise<{ artifact: RunArtifact; content: Buffer }> {
    await this.require(caller.workspaceId, id);
    const found = await this.store.runArtifacts.get(caller.workspaceId, id, artifactId);
    if (found === undefined) throw notFound('artifact', artifactId);
    return found;
  }

  /** Stored, then live events of a run, ending after `run-end`. Checks access before the first read. */
  async stream(
    caller: Caller,
    id: string,
    afterSeq: number,
    signal: AbortSignal,
  ): Promise<AsyncGenerator<RunEvent>> {
    await this.require(caller.workspaceId, id);
    return runEventStream(this.store, this.bus, id, afterSeq, signal);
  }

  /**
   * Resolves with the run once it has ended, or paused in requires_action (it waits for someone:
   * the caller gets `requiredAction`). The run goes on if the caller stops waiting.
   */
  async waitForEnd(caller: Caller, id: string, signal: AbortSignal): Promise<Run> {
    const ended = new Promise<void>((resolve) => {
      const unsubscribe = this.bus.subscribe(id, (events) => {
        if (events.some((event) => endsWait.has(event.type))) {
          unsubscribe();
          resolve();
        }
      });
      signal.addEventListener('abort', () => {
        unsubscribe();
        resolve();
      });
      // Subscribed first, so a run that ended before is the only case left: looked for a turn
      // later, off the path of a run that has just been created and is about to start.
      setImmediate(() => {
        void this.store.runs.get(caller.workspaceId, id).then((run) => {
          if (run === undefined || isFinalRunStatus(run.status) || run.status === 'requires_action') {
            unsubscribe();
            resolve();
          }
        }, resolve);
      });
    });
    await ended;
    return this.get(caller, id);
  }

  private async cancelRecord(run: RunRecord, message: string): Promise<void> {
    const finishedAt = nowIso();
    await this.store.runs.requestCancel(run.workspaceId, run.id, finishedAt);
    const error = { code: 'CANCELLED', message };
    // A paused run's paused children wait with it: they end with it, in the same transaction.
    const endedHere = await this.store.transaction((store) => cancelUnheldRun(store, run, error, finishedAt));
    for (const { runId, end } of endedHere) this.bus.publish(runId, [end]);
    if (endedHere.length === 0) this.bus.signal({ kind: 'cancel', runId: run.id });
  }

  private async require(workspaceId: string, id: string): Promise<RunRecord> {
    const run = await this.store.runs.get(workspaceId, id);
    if (run === undefined) throw notFound('run', id);
    return run;
  }
}

function runSettingsOverride(settings: RunSettingsOverride | undefined): RunSettingsOverride | undefined {
  if (settings === undefined) return undefined;
  const parsed = runSettingsOverrideSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidField(`settings.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'is invalid');
  }
  const defined = Object.entries(parsed.data).filter(([, value]) => value !== undefined);
  return defined.length === 0 ? undefined : Object.fromEntries(defined);
}

function pickVersion(agent: AgentRecord, input: CreateAgentRun): number {
  if (input.version !== undefined) {
    if (input.version > agent.latestVersion) {
      throw invalidField(
        'version',
        `agent '${agent.slug}' has no version ${input.version} (newest: ${agent.latestVersion})`,
      );
    }
    return input.version;
  }
  switch (input.environment) {
    case 'draft':
      return agent.latestVersion;
    case 'staging':
    case 'production': {
      const version = input.environment === 'staging' ? agent.stagingVersion : agent.productionVersion;
      if (version === null) {
        throw invalidField(
          'environment',
          `agent '${agent.slug}' has no version promoted to ${input.environment}`,
        );
      }
      return version;
    }
    case undefined:
      return agent.productionVersion ?? agent.latestVersion;
  }
}
