export { openDatabase, isUniqueViolation, type DatabaseHandle, type Dialect } from './connect.ts';
export { migrate, pendingMigrations } from './migrate.ts';
export { Store } from './store.ts';
export type { Page, PageRequest } from './pagination.ts';
export type { AgentRecord, AgentRow, DescriptiveChange } from './repositories/agents.ts';
export type { SecretRecord } from './repositories/secrets.ts';
export type { NewProvider } from './repositories/providers.ts';
export type { CompatReferenceKey } from './repositories/compat-references.ts';
export type { NewMessage } from './repositories/threads.ts';
export type {
  RunRecord,
  RunOptions,
  RunFilter,
  RunCompletion,
  RunProgress,
  RunSettingsOverride,
  CallbackBodyFormat,
  StoredRequiredAction,
} from './repositories/runs.ts';
export type { McpDiscoveredTool, McpDiscovery, ToolRecord, ToolRow, ToolUse } from './repositories/tools.ts';
export type { NewRunArtifact } from './repositories/run-artifacts.ts';
export type { AuditFilter } from './repositories/policies.ts';
export type { MemoryEntry, MemoryScope } from './repositories/agent-memory.ts';
export type {
  ApprovalRecord,
  ApprovalDecision,
  ApprovalFilter,
  ApprovalGrant,
} from './repositories/approvals.ts';
