import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** A summary of a thread's oldest messages, up to and including `throughPosition`. */
export interface ThreadSummary {
  text: string;
  throughPosition: number;
}

/**
 * The cached summary of history trimmed away from a thread (engine/loop/history-summary.ts). Internal:
 * never returned by the API. Deleted with its thread (a cascading foreign key).
 */
export class ThreadSummaryRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(threadId: string): Promise<ThreadSummary | undefined> {
    const row = await this.db
      .selectFrom('thread_summaries')
      .select(['text', 'through_position'])
      .where('thread_id', '=', threadId)
      .executeTakeFirst();
    return row && { text: row.text, throughPosition: Number(row.through_position) };
  }

  /**
   * Stores `summary` unless the thread already has one reaching as far or further: a resumed run
   * that saves again, or a slower writer, never moves the summary back.
   */
  async save(
    workspaceId: string,
    threadId: string,
    summary: ThreadSummary & { runId: string; updatedAt: string },
  ): Promise<void> {
    const values = {
      text: summary.text,
      through_position: summary.throughPosition,
      run_id: summary.runId,
      updated_at: summary.updatedAt,
    };
    await this.db
      .insertInto('thread_summaries')
      .values({ thread_id: threadId, workspace_id: workspaceId, ...values })
      .onConflict((conflict) =>
        conflict
          .column('thread_id')
          .doUpdateSet(values)
          .where('thread_summaries.through_position', '<', summary.throughPosition),
      )
      .execute();
  }
}
