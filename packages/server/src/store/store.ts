import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { WorkspaceRepository } from './repositories/workspaces.ts';
import { ApiKeyRepository } from './repositories/api-keys.ts';
import { SecretRepository } from './repositories/secrets.ts';
import { ProviderRepository } from './repositories/providers.ts';
import { AgentRepository } from './repositories/agents.ts';
import { IdempotencyRepository } from './repositories/idempotency.ts';
import { InstanceRepository } from './repositories/instance.ts';
import { ThreadRepository } from './repositories/threads.ts';
import { ThreadSummaryRepository } from './repositories/thread-summaries.ts';
import { RunRepository } from './repositories/runs.ts';
import { RunEventRepository } from './repositories/run-events.ts';
import { RunDeliveryRepository } from './repositories/run-deliveries.ts';
import { RunArtifactRepository } from './repositories/run-artifacts.ts';
import { CompatReferenceRepository } from './repositories/compat-references.ts';
import { ToolRepository } from './repositories/tools.ts';
import { PolicyRepository } from './repositories/policies.ts';
import { AgentMemoryRepository } from './repositories/agent-memory.ts';
import { ApprovalRepository } from './repositories/approvals.ts';

/** Every query Runyard makes, grouped by table. The same code runs on SQLite and PostgreSQL. */
export class Store {
  readonly workspaces: WorkspaceRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly secrets: SecretRepository;
  readonly providers: ProviderRepository;
  readonly agents: AgentRepository;
  readonly idempotency: IdempotencyRepository;
  readonly instance: InstanceRepository;
  readonly threads: ThreadRepository;
  readonly threadSummaries: ThreadSummaryRepository;
  readonly runs: RunRepository;
  readonly runEvents: RunEventRepository;
  readonly runDeliveries: RunDeliveryRepository;
  readonly runArtifacts: RunArtifactRepository;
  readonly compatReferences: CompatReferenceRepository;
  readonly tools: ToolRepository;
  readonly policies: PolicyRepository;
  readonly agentMemory: AgentMemoryRepository;
  readonly approvals: ApprovalRepository;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly inTransaction = false,
  ) {
    this.workspaces = new WorkspaceRepository(db);
    this.apiKeys = new ApiKeyRepository(db);
    this.secrets = new SecretRepository(db);
    this.providers = new ProviderRepository(db);
    this.agents = new AgentRepository(db);
    this.idempotency = new IdempotencyRepository(db);
    this.instance = new InstanceRepository(db);
    this.threads = new ThreadRepository(db);
    this.threadSummaries = new ThreadSummaryRepository(db);
    this.runs = new RunRepository(db);
    this.runEvents = new RunEventRepository(db);
    this.runDeliveries = new RunDeliveryRepository(db);
    this.runArtifacts = new RunArtifactRepository(db);
    this.compatReferences = new CompatReferenceRepository(db);
    this.tools = new ToolRepository(db);
    this.policies = new PolicyRepository(db);
    this.agentMemory = new AgentMemoryRepository(db);
    this.approvals = new ApprovalRepository(db);
  }

  /**
   * Runs `work` in one transaction: all of its writes land together or none do. Inside a
   * transaction it joins the one already open, so services compose.
   */
  async transaction<T>(work: (store: Store) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return this.db.transaction().execute((transaction) => work(new Store(transaction, true)));
  }
}
