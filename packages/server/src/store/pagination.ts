import type { SelectQueryBuilder } from 'kysely';

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/**
 * Keyset pagination, newest first. Ids sort by creation time, so the cursor is the last id seen:
 * stable under concurrent inserts, and each page is one index range scan.
 */
export async function paginate<DB, TB extends keyof DB, Row extends { id: string }, T>(
  query: SelectQueryBuilder<DB, TB, Row>,
  idColumn: string,
  request: PageRequest,
  toItem: (row: Row) => T,
): Promise<Page<T>> {
  // The column name is a trusted constant of each repository, never user input.
  const column = idColumn as never;
  let bounded = query.orderBy(column, 'desc').limit(request.limit + 1);
  if (request.cursor !== undefined) bounded = bounded.where(column, '<', request.cursor as never);
  const rows = await bounded.execute();
  const hasMore = rows.length > request.limit;
  const pageRows = hasMore ? rows.slice(0, request.limit) : rows;
  return {
    data: pageRows.map(toItem),
    nextCursor: hasMore ? (pageRows.at(-1)?.id ?? null) : null,
  };
}

export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
