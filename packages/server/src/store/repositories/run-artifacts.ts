import type { Kysely, Selectable } from 'kysely';
import type { RunArtifact } from '@runyard/protocol';
import type { Database, RunArtifactTable } from '../schema.ts';

/** An artifact as written: its description and its bytes. */
export interface NewRunArtifact extends RunArtifact {
  workspaceId: string;
  content: Buffer;
}

const descriptionColumns = [
  'id',
  'run_id',
  'tool_call_id',
  'name',
  'content_type',
  'size_bytes',
  'truncated',
  'created_at',
] as const;

const toArtifact = (row: Omit<Selectable<RunArtifactTable>, 'content' | 'workspace_id'>): RunArtifact => ({
  id: row.id,
  runId: row.run_id,
  toolCallId: row.tool_call_id,
  name: row.name,
  contentType: row.content_type,
  sizeBytes: row.size_bytes,
  truncated: row.truncated === 1,
  createdAt: row.created_at,
});

/**
 * Files tool calls keep for their runs (migration 0012). Rows are written once and never changed.
 * Every read names the workspace: another workspace's artifact is not found, like one that never was.
 */
export class RunArtifactRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(artifact: NewRunArtifact): Promise<void> {
    await this.db
      .insertInto('run_artifacts')
      .values({
        id: artifact.id,
        workspace_id: artifact.workspaceId,
        run_id: artifact.runId,
        tool_call_id: artifact.toolCallId,
        name: artifact.name,
        content_type: artifact.contentType,
        size_bytes: artifact.sizeBytes,
        truncated: artifact.truncated ? 1 : 0,
        content: artifact.content,
        created_at: artifact.createdAt,
      })
      .execute();
  }

  /** The artifacts of a run without their bytes, oldest first (ids sort by creation time). */
  async list(workspaceId: string, runId: string): Promise<RunArtifact[]> {
    const rows = await this.db
      .selectFrom('run_artifacts')
      .select(descriptionColumns)
      .where('workspace_id', '=', workspaceId)
      .where('run_id', '=', runId)
      .orderBy('id')
      .execute();
    return rows.map(toArtifact);
  }

  /** One artifact of the run with its bytes; undefined when the run has no such artifact in this workspace. */
  async get(
    workspaceId: string,
    runId: string,
    artifactId: string,
  ): Promise<{ artifact: RunArtifact; content: Buffer } | undefined> {
    const row = await this.db
      .selectFrom('run_artifacts')
      .select([...descriptionColumns, 'content'])
      .where('workspace_id', '=', workspaceId)
      .where('run_id', '=', runId)
      .where('id', '=', artifactId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return { artifact: toArtifact(row), content: Buffer.from(row.content) };
  }
}
