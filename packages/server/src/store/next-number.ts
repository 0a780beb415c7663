import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** The largest value of a 32-bit integer column (team ids, provider numbers). */
export const maxColumnInteger = 2_147_483_647;

/**
 * The number for a new row of a numbered table (`workspaces.team_id`, `providers.number` within a
 * workspace): the highest plus one. When that would not fit the column, because a client set the
 * highest to the very top (a Make id kept on moving over), the smallest free number above a taken
 * one instead. Two concurrent callers can get the same number; the unique index fails the later.
 */
export async function nextNumber(
  db: Kysely<Database>,
  table: 'workspaces' | 'providers',
  column: 'team_id' | 'number',
  workspaceId?: string,
): Promise<number> {
  const inScope = (alias: string) =>
    workspaceId === undefined ? sql`` : sql`and ${sql.ref(`${alias}.workspace_id`)} = ${workspaceId}`;
  const { rows } = await sql<{ highest: number | string | null }>`
    select max(${sql.ref(`a.${column}`)}) as highest from ${sql.table(table)} as a where 1 = 1 ${inScope('a')}
  `.execute(db);
  const next = Number(rows[0]?.highest ?? 0) + 1;
  if (next <= maxColumnInteger) return next;
  const free = await sql<{ free: number | string | null }>`
    select min(${sql.ref(`a.${column}`)}) + 1 as free from ${sql.table(table)} as a
    where ${sql.ref(`a.${column}`)} < ${maxColumnInteger} ${inScope('a')}
    and not exists (
      select 1 from ${sql.table(table)} as b
      where ${sql.ref(`b.${column}`)} = ${sql.ref(`a.${column}`)} + 1 ${inScope('b')}
    )
  `.execute(db);
  // Every number below the top is taken (2^31 rows): the insert fails on the unique index.
  return Number(free.rows[0]?.free ?? maxColumnInteger);
}
