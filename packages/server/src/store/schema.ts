import type { ColumnType, Generated } from 'kysely';

/**
 * Table shapes, identical on SQLite and PostgreSQL: timestamps are ISO-8601 UTC text (they sort
 * as text), JSON is text, booleans are 0/1 integers. One query path serves both dialects.
 */
export interface WorkspaceTable {
  id: string;
  name: string;
  team_id: number;
  /** `provider/model` for agents that name no model; null when unset (migration 0014). */
  default_model: string | null;
  created_at: string;
}

export interface ApiKeyTable {
  id: string;
  workspace_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface SecretTable {
  id: string;
  workspace_id: string;
  name: string;
  ciphertext: string;
  fingerprint: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ProviderTable {
  id: string;
  workspace_id: string;
  name: string;
  kind: string;
  base_url: string | null;
  api_key_secret: string | null;
  models: string;
  requests_per_minute: number | null;
  /** Stable per workspace (migration 0004): the Make surface's `makeConnectionId`. */
  number: number;
  /** JSON (migration 0005): `{ api?, prices? }`, the OpenAI API and the price overrides. */
  options: string;
  built_in: number;
  created_at: string;
  updated_at: string;
}

export interface AgentTable {
  id: string;
  workspace_id: string;
  slug: string;
  name: string;
  description: string;
  category: string | null;
  subcategory: string | null;
  tags: string;
  status: string;
  metadata: string;
  latest_version: number;
  staging_version: number | null;
  production_version: number | null;
  revision: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface AgentTagTable {
  agent_id: string;
  workspace_id: string;
  tag: string;
}

export interface AgentVersionTable {
  agent_id: string;
  version: number;
  content_hash: string;
  model: string;
  config: string;
  created_at: string;
}

export interface IdempotencyKeyTable {
  workspace_id: string;
  idempotency_key: string;
  request_hash: string;
  status_code: number | null;
  response_body: string | null;
  created_at: string;
}

export interface ThreadTable {
  id: string;
  workspace_id: string;
  title: string | null;
  metadata: string;
  created_at: string;
  updated_at: string;
}

export interface MessageTable {
  id: string;
  workspace_id: string;
  thread_id: string;
  run_id: string | null;
  position: number;
  role: string;
  content: string;
  created_at: string;
}

/** One row per thread whose trimmed history has been summarised (migration 0005). */
export interface ThreadSummaryTable {
  thread_id: string;
  workspace_id: string;
  text: string;
  /** The position of the last message the summary covers. */
  through_position: number;
  /** The run that wrote the summary. */
  run_id: string;
  updated_at: string;
}

/** A compat surface's external name for one of our ids (migration 0004). */
export interface CompatReferenceTable {
  workspace_id: string;
  surface: string;
  kind: string;
  external_id: string;
  internal_id: string;
  created_at: string;
}

export interface RunTable {
  id: string;
  workspace_id: string;
  agent_id: string;
  agent_version: number;
  thread_id: string | null;
  status: string;
  input: string;
  output: string | null;
  error: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  cost_incomplete: number;
  iterations: number;
  metadata: string;
  /** JSON: what the run was asked to do (environment, mode, conflict policy, stateless). */
  options: string;
  callback_url: string | null;
  /** Encrypted with the master key. */
  callback_secret: string | null;
  cancel_requested: number;
  /** When the next callback attempt may start; null when none is pending (migration 0003). */
  callback_due_at: Generated<string | null>;
  /** Callback attempts claimed so far; an attempt is claimed by raising this by one. */
  callback_attempts: Generated<number>;
  lease_owner: string | null;
  lease_expires_at: string | null;
  claims: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  /** The run whose agent tool started this child run, and that tool call (migration 0007). */
  parent_run_id: Generated<string | null>;
  parent_tool_call_id: Generated<string | null>;
  /** Ancestors of the run: 0 for a top-level run. */
  depth: Generated<number>;
  /** JSON: what a run in requires_action waits for (migration 0010); null otherwise. */
  required_action: Generated<string | null>;
  /** When the run last went back to the queue after a pause; its timeout counts from then. */
  resumed_at: Generated<string | null>;
}

/** A note of the `memory` built-in; `scope` is `agent` or `thread:<id>` (migration 0007). */
export interface AgentMemoryTable {
  workspace_id: string;
  agent_id: string;
  scope: string;
  thread_id: string | null;
  key: string;
  /** JSON text. */
  value: string;
  updated_at: string;
}

export interface RunEventTable {
  run_id: string;
  seq: number;
  type: string;
  data: string;
}

export interface RunDeliveryTable {
  id: string;
  run_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  delivered: number;
  created_at: string;
  next_attempt_at: string | null;
}

/**
 * A file a tool call kept for its run (migration 0012): `content` is bytes (BLOB on SQLite, bytea on
 * PostgreSQL), read back as a Buffer on both. Written once, never changed.
 */
export interface RunArtifactTable {
  id: string;
  workspace_id: string;
  run_id: string;
  tool_call_id: string;
  name: string;
  content_type: string;
  size_bytes: number;
  /** 1 when only the first RUNYARD_ARTIFACT_MAX_BYTES of the original are kept. */
  truncated: number;
  content: Buffer;
  created_at: string;
}

/** A registry tool (migration 0006); its definitions are in tool_versions. */
export interface ToolTable {
  id: string;
  workspace_id: string;
  name: string;
  kind: string;
  latest_version: number;
  revision: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  /** mcp tools (migration 0008): JSON of the last tools/list answer (`McpDiscovery`); null otherwise. */
  mcp_discovery: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ToolVersionTable {
  tool_id: string;
  version: number;
  content_hash: string;
  /** JSON: the definition, with secret references (never values). */
  config: string;
  created_at: string;
}

export interface PolicyTable {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  /** JSON: the rules, as validated by the protocol schema. */
  rules: string;
  /** JSON: the approval routes (migration 0014). */
  approval_routes: string;
  created_at: string;
  updated_at: string;
}

export interface AuditEntryTable {
  id: string;
  workspace_id: string;
  run_id: string | null;
  agent_id: string | null;
  tool_call_id: string;
  tool_name: string;
  resource: string;
  method: string;
  effect: string;
  policy: string | null;
  rule_index: number | null;
  reason: string;
  created_at: string;
}

/** A tool call paused for a human decision (migration 0010). */
export interface ApprovalTable {
  id: string;
  workspace_id: string;
  run_id: string;
  root_run_id: string;
  agent_id: string;
  tool_call_id: string;
  tool_name: string;
  /** JSON */
  arguments: string;
  /** JSON: policy, ruleIndex, resource, method. */
  rule: string;
  status: string;
  scope: string | null;
  decided_by: string | null;
  reason: string | null;
  /** JSON; null when the approver kept the model's arguments. */
  edited_arguments: string | null;
  expires_at: string;
  created_at: string;
  decided_at: string | null;
}

/** A `window` approval: the agent's later calls under the same rule and tool pass until it expires. */
export interface ApprovalGrantTable {
  id: string;
  workspace_id: string;
  agent_id: string;
  policy: string | null;
  rule_index: number | null;
  tool_name: string;
  approval_id: string;
  expires_at: string;
  created_at: string;
}

export interface MigrationTable {
  name: string;
  applied_at: string;
}

export interface InstanceTable {
  key: string;
  value: string;
}

export interface Database {
  workspaces: WorkspaceTable;
  api_keys: ApiKeyTable;
  secrets: SecretTable;
  providers: ProviderTable;
  agents: AgentTable;
  agent_tags: AgentTagTable;
  agent_versions: AgentVersionTable;
  idempotency_keys: IdempotencyKeyTable;
  threads: ThreadTable;
  messages: MessageTable;
  thread_summaries: ThreadSummaryTable;
  compat_references: CompatReferenceTable;
  runs: RunTable;
  run_events: RunEventTable;
  run_deliveries: RunDeliveryTable;
  run_artifacts: RunArtifactTable;
  tools: ToolTable;
  tool_versions: ToolVersionTable;
  agent_memory: AgentMemoryTable;
  policies: PolicyTable;
  audit_entries: AuditEntryTable;
  approvals: ApprovalTable;
  approval_grants: ApprovalGrantTable;
  runyard_migrations: MigrationTable;
  instance: InstanceTable;
}

export type { Generated };
