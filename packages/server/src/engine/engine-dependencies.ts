import type { Run, Usage } from '@runyard/protocol';
import type { EventBus } from '../events/event-bus.ts';
import type { Store } from '../store/index.ts';
import type { ModelCandidate } from './models/call-model.ts';
import type { Tool } from './tools/tool.ts';

/** What the engine needs from the layers above it: model access needs secrets, which core owns. */
export interface EngineDependencies {
  store: Store;
  bus: EventBus;
  resolveModels: (workspaceId: string, references: readonly string[]) => Promise<ModelCandidate[]>;
  resolveTools: (
    workspaceId: string,
    names: readonly string[],
    binding: { policies: readonly string[]; agentId: string | null },
  ) => Promise<Map<string, Tool>>;
  costOf: (modelReference: string, usage: Usage) => { costUsd: number; known: boolean };
  newMessageId: () => string;
  /** Ids of child runs (agent tools, engine/runs/child-runs.ts). */
  newRunId: () => string;
  /** Ids of approvals (docs/architecture/approvals.md). */
  newApprovalId: () => string;
  /** How long a pending approval waits before it expires (RUNYARD_APPROVAL_TIMEOUT_MS). */
  approvalTimeoutMs: number;
  /** Ids of run artifacts (an http response too large for the model, kept whole). */
  newArtifactId: () => string;
  /** The most bytes of one run artifact that are stored (RUNYARD_ARTIFACT_MAX_BYTES). */
  artifactMaxBytes: number;
  /** Called once a run with a callback URL has ended and its end is stored (callbacks hook in here). */
  onRunEnded?: (run: Run) => void;
}
