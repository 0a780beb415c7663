import type { Kysely } from 'kysely';

export const name = '0006-tools';

export async function up(_db: Kysely<unknown>): Promise<void> {}
