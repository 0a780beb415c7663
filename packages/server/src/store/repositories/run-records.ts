import type { ExpressionBuilder, Selectable } from 'kysely';
import type {
  AgentSettings,
  InputMessage,
  OnConflict,
  RunError,
  RunOutput,
  RunStatus,
} from '@runyard/protocol';
import type { Database, RunTable } from '../schema.ts';
import { parseJson } from '../pagination.ts';

// The run row as the store hands it out, and the pieces of SQL that read or end it.
/** What the run was asked to do, beyond its input. */
export interface RunOptions {
  environment: string | null;
  mode: 'wait' | 'stream' | 'background';
  onConflict: OnConflict;
  stateless: boolean;
  /** Per-run overrides of the agent version's settings (absent on runs that have none). */
  settings?: RunSettingsOverride;
  /** How the callback body is rendered (engine/callbacks/callback-bodies.ts); absent: the Runyard run JSON. */
  callbackBody?: CallbackBodyFormat;
  /**
   * The model gets `Current time (ISO): <createdAt>` after the instructions (Make's system prompt,
   * shared/instructions-time.ts). The run's creation time, so every attempt sends the same prompt.
   */
  instructionsTime?: true;
}

/** A compat surface's callback body: Make's run result, naming the thread as its client does. */
export interface CallbackBodyFormat {
  format: 'make';
  /** The thread as the client was told it (its own uuid); absent: our thread id as a uuid. */
  threadId?: string;
}

/** The settings a single run may override; the rest stay as the agent version froze them. */
export type RunSettingsOverride = Pick<AgentSettings, 'temperature' | 'maxOutputTokens' | 'maxIterations'>;

export interface RunRecord {
  id: string;
  workspaceId: string;
  agentId: string;
  agentVersion: number;
  threadId: string | null;
  status: RunStatus;
  input: InputMessage[];
  output: RunOutput | null;
  error: RunError | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  costIncomplete: boolean;
  iterations: number;
  metadata: Record<string, unknown>;
  options: RunOptions;
  callbackUrl: string | null;
  /** Sealed with the master key; opened only to sign a delivery. */
  callbackSecret: string | null;
  cancelRequested: boolean;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  claims: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  /**
   * A child run's parent and the parent's tool call that started it (engine/runs/child-runs.ts), and the
   * number of its ancestors. Read back always set; absent on insert means a top-level run.
   */
  parentRunId?: string | null;
  parentToolCallId?: string | null;
  depth?: number;
  /** What a run in requires_action waits for (docs/architecture/approvals.md); read back always set. */
  requiredAction?: StoredRequiredAction | null;
  /** When the run last went back to the queue after a pause: its timeout counts from then. */
  resumedAt?: string | null;
}

/** A paused run's wait, as stored: client tool calls keep their step for the results' events. */
export type StoredRequiredAction =
  | {
      type: 'tool_outputs';
      step: number;
      toolCalls: { toolCallId: string; toolName: string; input: unknown }[];
    }
  | { type: 'approval'; approvals: string[] };

export const activeStatuses: RunStatus[] = ['queued', 'running', 'requires_action'];

export const toRecord = (row: Selectable<RunTable>): RunRecord => ({
  id: row.id,
  workspaceId: row.workspace_id,
  agentId: row.agent_id,
  agentVersion: row.agent_version,
  threadId: row.thread_id,
  status: row.status as RunStatus,
  input: parseJson<InputMessage[]>(row.input),
  output: row.output === null ? null : parseJson<RunOutput>(row.output),
  error: row.error === null ? null : parseJson<RunError>(row.error),
  inputTokens: row.input_tokens,
  outputTokens: row.output_tokens,
  costUsd: Number(row.cost_usd),
  costIncomplete: row.cost_incomplete === 1,
  iterations: row.iterations,
  metadata: parseJson<Record<string, unknown>>(row.metadata),
  options: parseJson<RunOptions>(row.options),
  callbackUrl: row.callback_url,
  callbackSecret: row.callback_secret,
  cancelRequested: row.cancel_requested === 1,
  leaseOwner: row.lease_owner,
  leaseExpiresAt: row.lease_expires_at,
  claims: row.claims,
  createdAt: row.created_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  updatedAt: row.updated_at,
  parentRunId: row.parent_run_id,
  parentToolCallId: row.parent_tool_call_id,
  depth: row.depth,
  requiredAction: row.required_action === null ? null : parseJson<StoredRequiredAction>(row.required_action),
  resumedAt: row.resumed_at,
});

/**
 * A run with a callback URL has its first callback attempt due the moment it ends. Set in the very
 * statement that ends the run, so no ended run ever misses its callback (callback-scheduler.ts).
 */
export const callbackDueAt = (eb: ExpressionBuilder<Database, 'runs'>, finishedAt: string) =>
  eb
    .case()
    .when('callback_url', 'is not', null)
    .then(eb.val<string | null>(finishedAt))
    .else(eb.val<string | null>(null))
    .end();

export interface RunFilter {
  agentId?: string | undefined;
  threadId?: string | undefined;
  status?: RunStatus | undefined;
  parentRunId?: string | undefined;
}

/** The end of a run: written once, only while the run is still active. */
export interface RunCompletion {
  status: 'succeeded' | 'failed' | 'cancelled';
  output: RunOutput | null;
  error: RunError | null;
  finishedAt: string;
}

export interface RunProgress {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  costIncomplete: boolean;
  iterations: number;
}

/**
 * The oldest run that is queued, or running under a lease that expired (its worker died), and that
 * no earlier active run of the same thread is ahead of.
 */
