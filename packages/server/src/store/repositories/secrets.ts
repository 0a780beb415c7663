import type { Kysely } from 'kysely';
import type { Secret } from '@runyard/protocol';
import type { Database, SecretTable } from '../schema.ts';
import { paginate, type Page, type PageRequest } from '../pagination.ts';

export interface SecretRecord extends Secret {
  ciphertext: string;
}

const toSecret = (row: SecretTable): SecretRecord => ({
  id: row.id,
  name: row.name,
  fingerprint: row.fingerprint,
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  ciphertext: row.ciphertext,
});

export class SecretRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(workspaceId: string, record: SecretRecord): Promise<SecretRecord> {
    const row: SecretTable = {
      id: record.id,
      workspace_id: workspaceId,
      name: record.name,
      ciphertext: record.ciphertext,
      fingerprint: record.fingerprint,
      version: record.version,
      created_at: record.createdAt,
      updated_at: record.updatedAt,
    };
    await this.db.insertInto('secrets').values(row).execute();
    return toSecret(row);
  }

  async get(workspaceId: string, name: string): Promise<SecretRecord | undefined> {
    const row = await this.db
      .selectFrom('secrets')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toSecret(row);
  }

  async list(workspaceId: string, request: PageRequest): Promise<Page<SecretRecord>> {
    const query = this.db.selectFrom('secrets').selectAll().where('workspace_id', '=', workspaceId);
    return paginate(query, 'id', request, toSecret);
  }

  async replaceValue(
    workspaceId: string,
    name: string,
    change: { ciphertext: string; fingerprint: string; updatedAt: string },
  ): Promise<SecretRecord | undefined> {
    await this.db
      .updateTable('secrets')
      .set((eb) => ({
        ciphertext: change.ciphertext,
        fingerprint: change.fingerprint,
        updated_at: change.updatedAt,
        version: eb('version', '+', 1),
      }))
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .execute();
    return this.get(workspaceId, name);
  }

  async delete(workspaceId: string, name: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('secrets')
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
