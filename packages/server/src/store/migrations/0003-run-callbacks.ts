import type { Kysely } from 'kysely';

export const name = '0003-run-callbacks';

/**
 * The pending callback of each ended run lives on its row, so it survives restarts and is set in the
 * same statement that ends the run: `callback_due_at` is when the next attempt may start (null: none
 * is pending, or the run has no callback), `callback_attempts` how many attempts were claimed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('callback_due_at', 'text').execute();
  await db.schema
    .alterTable('runs')
    .addColumn('callback_attempts', 'integer', (column) => column.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('runs_callback_due').on('runs').column('callback_due_at').execute();
}
