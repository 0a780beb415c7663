import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** Which name of which surface: a Make `threadId` is `{ surface: 'make', kind: 'thread' }`. */
export interface CompatReferenceKey {
  workspaceId: string;
  surface: string;
  kind: string;
  externalId: string;
}

/** External names chosen by a compat surface's clients, mapped to our ids (migration 0004). */
export class CompatReferenceRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Our id for the external name, or undefined when it has none. */
  async find(key: CompatReferenceKey): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('compat_references')
      .select('internal_id')
      .where('workspace_id', '=', key.workspaceId)
      .where('surface', '=', key.surface)
      .where('kind', '=', key.kind)
      .where('external_id', '=', key.externalId)
      .executeTakeFirst();
    return row?.internal_id;
  }

  /** Our ids for several external names of one kind: external id → internal id (absent: none). */
  async findMany(
    key: Omit<CompatReferenceKey, 'externalId'>,
    externalIds: readonly string[],
  ): Promise<Map<string, string>> {
    if (externalIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('compat_references')
      .select(['external_id', 'internal_id'])
      .where('workspace_id', '=', key.workspaceId)
      .where('surface', '=', key.surface)
      .where('kind', '=', key.kind)
      .where('external_id', 'in', [...new Set(externalIds)])
      .execute();
    return new Map(rows.map((row) => [row.external_id, row.internal_id]));
  }

  /** Fails with a unique violation when the name is already mapped (a concurrent insert won). */
  async insert(key: CompatReferenceKey, internalId: string, createdAt: string): Promise<void> {
    await this.db
      .insertInto('compat_references')
      .values({
        workspace_id: key.workspaceId,
        surface: key.surface,
        kind: key.kind,
        external_id: key.externalId,
        internal_id: internalId,
        created_at: createdAt,
      })
      .execute();
  }

  /** Points an existing name at another id, only if it still points at `expectedInternalId`. */
  async repoint(key: CompatReferenceKey, expectedInternalId: string, internalId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('compat_references')
      .set({ internal_id: internalId })
      .where('workspace_id', '=', key.workspaceId)
      .where('surface', '=', key.surface)
      .where('kind', '=', key.kind)
      .where('external_id', '=', key.externalId)
      .where('internal_id', '=', expectedInternalId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
