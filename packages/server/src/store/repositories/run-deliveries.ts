import type { Kysely, Selectable } from 'kysely';
import type { RunDelivery } from '@runyard/protocol';
import type { Database, RunDeliveryTable } from '../schema.ts';

const toDelivery = (row: Selectable<RunDeliveryTable>): RunDelivery => ({
  id: row.id,
  runId: row.run_id,
  attempt: row.attempt,
  statusCode: row.status_code,
  error: row.error,
  delivered: row.delivered === 1,
  createdAt: row.created_at,
  nextAttemptAt: row.next_attempt_at,
});

/** One row per callback attempt, written once the attempt has its outcome; never changed after. */
export class RunDeliveryRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(delivery: RunDelivery): Promise<void> {
    await this.db
      .insertInto('run_deliveries')
      .values({
        id: delivery.id,
        run_id: delivery.runId,
        attempt: delivery.attempt,
        status_code: delivery.statusCode,
        error: delivery.error,
        delivered: delivery.delivered ? 1 : 0,
        created_at: delivery.createdAt,
        next_attempt_at: delivery.nextAttemptAt,
      })
      .execute();
  }

  /** The attempts of a run, oldest first. A run has a few dozen at most (24 hours of backoff). */
  async list(runId: string): Promise<RunDelivery[]> {
    const rows = await this.db
      .selectFrom('run_deliveries')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('attempt')
      .orderBy('id')
      .execute();
    return rows.map(toDelivery);
  }
}
