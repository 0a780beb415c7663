import type { RunError, RunOutput, RunStatus, Usage } from '@runyard/protocol';
import type { Store } from '../../store/index.ts';
import type { AgentMemoryRepository } from '../../store/repositories/agent-memory.ts';
import type { PolicyDecisionRecord } from '../policies/decision-record.ts';
import type { EgressGuard } from '../policies/egress-guard.ts';
import type { ApprovalGate } from '../approvals/approval-gate.ts';
import type { PauseCollector } from '../approvals/run-pause.ts';

/** What a child run was asked: the agent of an agent tool, with the model's `input`. */
export interface ChildRunRequest {
  agentId: string;
  /** null: production, or the newest version while none is promoted (like a run's default). */
  environment: 'draft' | 'staging' | 'production' | null;
  input: string;
  toolCallId: string;
  step: number;
}

/** How a child run ended. */
export interface ChildRunResult {
  runId: string;
  status: RunStatus;
  output: RunOutput | null;
  error: RunError | null;
}

/** Runs other agents as child runs of the calling run (engine/runs/child-runs.ts). */
export interface ChildRunner {
  run(request: ChildRunRequest, signal: AbortSignal): Promise<ChildRunResult>;
  /** Children whose end the run's log already holds (the run resumed): counted once, on replay. */
  readonly endedBefore: readonly { usage: Usage; costUsd: number }[];
  /** Told the usage of each child that ends from now on, once per child: it counts in the run's. */
  onEnded: ((usage: Usage, costUsd: number) => void) | undefined;
}

/** The run a tool is called by: what `agent` and `memory` tools need of it. */
export interface ToolRunScope {
  agentId: string;
  /** null for a stateless run. */
  threadId: string | null;
  /** The run's ancestors: 0 for a top-level run, 1 for its children… */
  depth: number;
  memory: AgentMemoryRepository;
  children: ChildRunner;
}

/** A file a tool call keeps for its run: the whole body of a response too large for the model. */
export interface ToolArtifact {
  name: string;
  contentType: string;
  /** Credentials already scrubbed; the keeper stores at most its `maxBytes` of it. */
  content: Buffer;
  /** `content` is only the start of the original. */
  truncated: boolean;
}

/** What was stored of an artifact. */
export interface KeptArtifact {
  id: string;
  /** Bytes the artifact holds. */
  sizeBytes: number;
  /** Only the start is kept: the original was larger, or more than the keeper's `maxBytes`. */
  truncated: boolean;
}

/** Stores artifacts of the calling run's current tool call (engine/runs/run-artifacts.ts). */
export interface ArtifactKeeper {
  /** The most bytes of one artifact that are stored (RUNYARD_ARTIFACT_MAX_BYTES). */
  readonly maxBytes: number;
  /** Stores it in the run's workspace, cut to `maxBytes`; the call's `tool-result` names its id. */
  keep(artifact: ToolArtifact): Promise<KeptArtifact>;
}

/** When a write that belongs with a run's events is stored: see `ToolContext.storeWithEvents`. */
export type StoreTiming = 'now' | 'with-next-events';

/** What a tool sees of the run that calls it. */
export interface ToolContext {
  workspaceId: string;
  /** null when the tool is invoked directly (`POST /v1/tools/{name}/invoke`), outside any run. */
  runId: string | null;
  toolCallId: string;
  /** Aborted when the run is cancelled or times out: a tool should stop its work. */
  signal: AbortSignal;
  /** The calling run; absent when the tool is invoked directly. */
  run?: ToolRunScope | undefined;
  /** The step whose tool calls run (absent outside a run). */
  step?: number | undefined;
  /**
   * Decides each outbound request of a network tool (set by `enforcePolicies`); a network tool
   * without one sends nothing (`noEgress`).
   */
  egress?: EgressGuard | undefined;
  /** Called with each policy decision before it is audited: a run emits it as a `policy-decision` event. */
  onPolicyDecision?: ((decision: PolicyDecisionRecord) => void) | undefined;
  /**
   * Writes in one transaction with the run's events (a decision's audit row lands with its
   * `policy-decision` event, one commit): `now`, with the events emitted so far, resolving once
   * stored; `with-next-events`, with the next batch, at once (what is emitted later, such as the
   * call's result, is not stored before it). Absent outside a run: write on your own.
   */
  storeWithEvents?:
    ((write: (store: Store) => Promise<void>, when: StoreTiming) => Promise<void>) | undefined;
  /** Decides approval_required decisions inside a run (absent: a direct invoke, which is refused). */
  approvals?: ApprovalGate | undefined;
  /** The run's waiting calls: a `client` tool records its call here (absent: outside a run). */
  pauses?: PauseCollector | undefined;
  /** Keeps files for the run (absent: a direct invoke, which has no run to keep them for). */
  artifacts?: ArtifactKeeper | undefined;
  /** Reports progress of a long call (MCP progress notifications): a `tool-progress` run event. */
  reportProgress?: ((progress: ToolProgress) => void) | undefined;
}

/** How far a running tool call is; `total` when the tool knows it. */
export interface ToolProgress {
  progress: number;
  total?: number;
  message?: string;
}

/** A tool an agent can call. `inputSchema` is JSON Schema; the engine validates input against it. */
export interface Tool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** Sends requests over the network (http, http_fetch, mcp over http): denied unless a policy allows them. */
  network?: boolean;
  /**
   * The request a call with this input sends first, when the input alone tells it (undefined when
   * it does not, or the input is invalid): checked before a `tool:` rule asks a human to approve the
   * call, so that no one approves a call whose request would then be refused.
   */
  plannedRequest?(input: unknown): { method: string; url: URL } | undefined;
  execute(input: unknown, context: ToolContext): Promise<unknown>;
}
