import { SerialTask } from '../serial-task.ts';
import { randomBytes } from 'node:crypto';
import { EngineError } from '../engine-error.ts';
import type { EngineDependencies } from '../engine-dependencies.ts';
import { executeRun, RunReleased } from './run-executor.ts';

export interface WorkerOptions {
  /** Runs executed at once by this process. */
  concurrency: number;
  /** A claimed run's lease; renewed every third of it while the run executes. */
  leaseMs: number;
  /** A run claimed this many times (its workers kept dying) ends with WORKER_LOST. */
  maxClaims: number;
  /** Whether this process is the only one on the database (embedded SQLite): then every run left
   * `running` by an earlier process is orphaned and resumed at once, without waiting for its lease. */
  soleWorker: boolean;
  onError: (error: unknown, context: string) => void;
  /** Called for every claim: which run, its claim count (1 on the first), and this worker. */
  onClaimed?: (claim: { runId: string; claims: number; worker: string }) => void;
}

/** What `stop` did with the runs it had when it was called. */
export interface WorkerStopSummary {
  /** Runs that ended within the grace period. */
  finished: number;
  /** Runs let go of at its end, for another worker to resume from their journal. */
  released: number;
}

/**
 * Claims runs and executes them. Wakes up on a `runs-available` signal (no polling on the hot path);
 * a slow sweep at lease intervals picks up runs whose worker died.
 */
export class RunWorker {
  readonly owner = `worker_${randomBytes(8).toString('hex')}`;
  private readonly inFlight = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private accepting = false;
  /** The claim loop under way, if any: `stop` waits for it so no claim lands after it took stock. */
  private claimPass: Promise<void> | undefined;
  private readonly claiming = new SerialTask(
    () => (this.claimPass = this.claimLoop()),
    (error) => this.options.onError(error, 'claiming runs'),
  );
  /**
   * Whether the last claim pass stopped because the concurrency was used, not because nothing was
   * left: then a run may be waiting that no later signal announces, so a run's end starts a pass.
   * Any other pass ended on an empty claim, and a run queued since then signals; except a run
   * queued behind another on its thread (one at a time per thread), which that run's end unblocks.
   */
  private stoppedAtLimit = false;
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly dependencies: EngineDependencies,
    private readonly options: WorkerOptions,
  ) {}

  async start(): Promise<void> {
    this.accepting = true;
    if (this.options.soleWorker) {
      await this.dependencies.store.runs.releaseLeases(undefined, new Date().toISOString());
    }
    this.unsubscribe = this.dependencies.bus.onSignal((signal) => {
      if (signal.kind === 'runs-available') this.pump();
      else
        this.inFlight
          .get(signal.runId)
          ?.controller.abort(new EngineError('CANCELLED', 'the run was cancelled'));
    });
    this.heartbeat = setInterval(() => this.tick(), Math.max(50, Math.floor(this.options.leaseMs / 3)));
    this.heartbeat.unref();
    this.pump();
  }

  get activeRuns(): number {
    return this.inFlight.size;
  }

  /** Claims runs until the concurrency is used or none is left. Never runs twice at once. */
  pump(): void {
    if (this.accepting) this.claiming.request();
  }

  /**
   * Stops claiming, lets in-flight runs finish within `graceMs`, then lets go of the rest: their
   * leases are released and a `runs-available` signal sent, so another worker resumes them from
   * their journal at once rather than when their lease would have expired. Until the end the
   * heartbeat keeps renewing the leases and cancel signals still reach the runs.
   */
  async stop(graceMs: number): Promise<WorkerStopSummary> {
    this.accepting = false;
    // A claim that was under way when claiming stopped still executes: it is one of the in-flight runs.
    await this.claimPass?.catch(() => undefined);
    const all = () => Promise.all([...this.inFlight.values()].map((run) => run.done));
    const inFlightAtStop = this.inFlight.size;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    const cutOff = this.inFlight.size;
    for (const run of this.inFlight.values())
      run.controller.abort(new RunReleased('the worker is shutting down'));
    await all();
    clearInterval(this.heartbeat);
    this.unsubscribe?.();
    // Also whatever an execution that failed outright left running under this worker's lease.
    const released = await this.dependencies.store.runs.releaseLeases(this.owner, new Date().toISOString());
    if (released > 0) this.dependencies.bus.signal({ kind: 'runs-available' });
    return { finished: inFlightAtStop - cutOff, released };
  }

  private async claimLoop(): Promise<void> {
    const { store } = this.dependencies;
    this.stoppedAtLimit = false;
    for (;;) {
      if (!this.accepting) return;
      if (this.inFlight.size >= this.options.concurrency) {
        this.stoppedAtLimit = true;
        return;
      }
      const now = Date.now();
      const claimed = await store.runs.claimNext(
        this.owner,
        new Date(now).toISOString(),
        new Date(now + this.options.leaseMs).toISOString(),
      );
      if (claimed === undefined) return;
      this.options.onClaimed?.({ runId: claimed.id, claims: claimed.claims, worker: this.owner });
      const controller = new AbortController();
      const entry = { controller, done: Promise.resolve() };
      this.inFlight.set(claimed.id, entry);
      const lost = claimed.claims > this.options.maxClaims;
      entry.done = (
        lost ? this.endLost(claimed.id) : executeRun(this.dependencies, claimed, controller.signal)
      )
        .catch((error: unknown) => this.options.onError(error, `executing run ${claimed.id}`))
        .finally(() => {
          this.inFlight.delete(claimed.id);
          if (this.stoppedAtLimit || claimed.threadId !== null) this.pump();
        });
      // The next claim (most often an empty one) waits a turn, so that the run just claimed sends
      // its first model request before it instead of after it.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** A run whose workers kept dying: claimed once more only to end it with a reason. */
  private async endLost(runId: string): Promise<void> {
    const run = await this.dependencies.store.runs.getById(runId);
    if (run === undefined) return;
    const controller = new AbortController();
    controller.abort(
      new EngineError(
        'WORKER_LOST',
        `the run's worker stopped ${run.claims - 1} times; it was not resumed again`,
      ),
    );
    await executeRun(this.dependencies, { ...run, cancelRequested: false }, controller.signal);
  }

  private tick(): void {
    const { store } = this.dependencies;
    if (this.inFlight.size > 0) {
      store.runs
        .renewLeases(this.owner, new Date(Date.now() + this.options.leaseMs).toISOString())
        .catch((error: unknown) => this.options.onError(error, 'renewing leases'));
    }
    // Runs of workers that died become claimable when their lease expires; nobody signals that.
    this.pump();
  }
}
