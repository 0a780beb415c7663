/** What a tool sees of the run that calls it. */
export interface ToolContext {
  workspaceId: string;
  /** null when the tool is invoked directly (`POST /v1/tools/{name}/invoke`), outside any run. */
  runId: string | null;
  toolCallId: string;
  /** Aborted when the run is cancelled or times out: a tool should stop its work. */
  signal: AbortSignal;
}

/** A tool an agent can call. `inputSchema` is JSON Schema; the engine validates input against it. */
export interface Tool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  execute(input: unknown, context: ToolContext): Promise<unknown>;
}
