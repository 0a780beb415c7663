import type { Kysely } from 'kysely';
import type { RunEvent } from '@runyard/protocol';
import type { Database } from '../schema.ts';
import { PreparedQuery } from './prepared-query.ts';

/** Batches of up to this many events have a prepared insert; larger ones (rare) are built anew. */
const preparedBatchSize = 32;
const inserts = new Map<number, PreparedQuery<Record<string, unknown>>>();

/** The prepared insert of `count` events (prepared-query.ts): a run writes a few batch sizes. */
function insertOf(count: number): PreparedQuery<Record<string, unknown>> | undefined {
  if (count > preparedBatchSize) return undefined;
  let insert = inserts.get(count);
  if (insert === undefined) {
    const indexes = Array.from({ length: count }, (_, index) => index);
    insert = new PreparedQuery<Record<string, unknown>>(
      (db, argument) =>
        db.insertInto('run_events').values(
          indexes.map((index) => ({
            run_id: argument('runId') as string,
            seq: argument(`seq${index}`) as number,
            type: argument(`type${index}`) as string,
            data: argument(`data${index}`) as string,
          })),
        ),
      ['runId', ...indexes.flatMap((index) => [`seq${index}`, `type${index}`, `data${index}`])],
    );
    inserts.set(count, insert);
  }
  return insert;
}

/** The append-only event log of each run: the source of truth every stream is rendered from. */
export class RunEventRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Appends events whose seq continue the log; the primary key rejects a duplicate seq. */
  async append(runId: string, events: readonly RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((event) => ({
      run_id: runId,
      seq: event.seq,
      type: event.type,
      data: JSON.stringify(event),
    }));
    const insert = insertOf(rows.length);
    if (insert === undefined) {
      await this.db.insertInto('run_events').values(rows).execute();
      return;
    }
    const args: Record<string, unknown> = { runId };
    for (const [index, row] of rows.entries()) {
      args[`seq${index}`] = row.seq;
      args[`type${index}`] = row.type;
      args[`data${index}`] = row.data;
    }
    await insert.execute(this.db, args);
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
