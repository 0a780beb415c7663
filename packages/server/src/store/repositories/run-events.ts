import type { Kysely } from 'kysely';
import type { RunEvent } from '@runyard/protocol';
import type { Database } from '../schema.ts';

/** The append-only event log of each run: the source of truth every stream is rendered from. */
export class RunEventRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Appends events whose seq continue the log; the primary key rejects a duplicate seq. */
  async append(runId: string, events: readonly RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db
      .insertInto('run_events')
      .values(
        events.map((event) => ({
          run_id: runId,
          seq: event.seq,
          type: event.type,
          data: JSON.stringify(event),
        })),
      )
      .execute();
  }

  async list(runId: string, afterSeq: number, limit: number): Promise<RunEvent[]> {
    const rows = await this.db
      .selectFrom('run_events')
      .select('data')
      .where('run_id', '=', runId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => JSON.parse(row.data) as RunEvent);
  }

  async lastSeq(runId: string): Promise<number> {
    const row = await this.db
      .selectFrom('run_events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('run_id', '=', runId)
      .executeTakeFirst();
    return Number(row?.seq ?? 0);
  }
}
