import type { Kysely } from 'kysely';

export const name = '0004-compat';

export async function up(_db: Kysely<unknown>): Promise<void> {}
