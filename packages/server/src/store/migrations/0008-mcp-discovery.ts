import type { Kysely } from 'kysely';

export const name = '0008-mcp-discovery';

/**
 * The last `tools/list` answer of an MCP tool (JSON: the version it was listed for, the tools, when),
 * kept with the tool so that agent validation of `<name>.<mcpTool>` needs no server. Null for other kinds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tools').addColumn('mcp_discovery', 'text').execute();
}
