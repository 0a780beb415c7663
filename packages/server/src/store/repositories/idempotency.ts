import type { Kysely } from 'kysely';
import type { Database, IdempotencyKeyTable } from '../schema.ts';
import { isUniqueViolation } from '../connect.ts';

export type IdempotencyClaim = { kind: 'claimed' } | { kind: 'existing'; record: IdempotencyKeyTable };

export class IdempotencyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts a pending row for the key, or returns the row another request already holds. */
  async claim(workspaceId: string, key: string, requestHash: string, at: string): Promise<IdempotencyClaim> {
    try {
      await this.db
        .insertInto('idempotency_keys')
        .values({
          workspace_id: workspaceId,
          idempotency_key: key,
          request_hash: requestHash,
          status_code: null,
          response_body: null,
          created_at: at,
        })
        .execute();
      return { kind: 'claimed' };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const record = await this.db
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('idempotency_key', '=', key)
        .executeTakeFirstOrThrow();
      return { kind: 'existing', record };
    }
  }

  async complete(workspaceId: string, key: string, statusCode: number, responseBody: string): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ status_code: statusCode, response_body: responseBody })
      .where('workspace_id', '=', workspaceId)
      .where('idempotency_key', '=', key)
      .execute();
  }

  async release(workspaceId: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('workspace_id', '=', workspaceId)
      .where('idempotency_key', '=', key)
      .execute();
  }

  async deleteOlderThan(at: string): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('created_at', '<', at).execute();
  }
}
