import type { Kysely } from 'kysely';

export const name = '0005-provider-options';

export async function up(_db: Kysely<unknown>): Promise<void> {}
