import { originEgress, type EgressGuard } from '../../policies/egress-guard.ts';

/**
 * The egress guard of an MCP-over-HTTP server's own requests when no tool call is being made:
 * `tools/list` on create, update and refresh (a `write`-scoped caller registering the URL itself).
 * It allows exactly the tool's origin; the SSRF guard still refuses metadata addresses, and every
 * call a run or an invoke makes goes under that run's (or invoke's) policies instead.
 * EGRESS: a policy engineer may want discovery under named policies too; this is the one place.
 */
export function discoveryEgress(toolName: string, url: string): EgressGuard {
  return originEgress('mcp-discovery', url, { toolName, toolCallId: 'mcp-discovery', input: {} });
}
