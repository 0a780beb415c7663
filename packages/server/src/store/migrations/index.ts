import type { Kysely } from 'kysely';
import * as initial from './0001-initial.ts';
import * as runs from './0002-runs.ts';
import * as runCallbacks from './0003-run-callbacks.ts';
import * as compat from './0004-compat.ts';
import * as providerOptions from './0005-provider-options.ts';
import * as tools from './0006-tools.ts';
import * as childRunsAndMemory from './0007-child-runs-and-memory.ts';
import * as mcpDiscovery from './0008-mcp-discovery.ts';
import * as policies from './0009-policies.ts';
import * as approvals from './0010-approvals.ts';
import * as runArtifacts from './0012-run-artifacts.ts';
import * as defaultModelAndApprovalRoutes from './0014-default-model-and-approval-routes.ts';

export interface Migration {
  name: string;
  up(db: Kysely<unknown>): Promise<void>;
}

/** Applied in this order, each once, each in its own transaction. Never edit one that has shipped. */
export const migrations: Migration[] = [
  initial,
  runs,
  runCallbacks,
  compat,
  providerOptions,
  tools,
  childRunsAndMemory,
  mcpDiscovery,
  policies,
  approvals,
  runArtifacts,
  defaultModelAndApprovalRoutes,
];
