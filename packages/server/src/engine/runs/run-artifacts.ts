import type { Store } from '../../store/index.ts';
import type { ArtifactKeeper, KeptArtifact, ToolArtifact } from '../tools/tool.ts';

/** A keeper for one tool call, and the ids of what it kept (its `tool-result` event names them). */
export interface CallArtifacts extends ArtifactKeeper {
  readonly ids: readonly string[];
}

/**
 * Where the tool calls of one run keep files (docs/architecture/tools.md#artifacts): rows of
 * `run_artifacts` in the run's workspace. An artifact is stored before its call's `tool-result`, so
 * a result never names one that is not there. A call interrupted in between (its worker died) runs
 * again on resume and keeps a new artifact; the earlier one stays listed, named by no result.
 */
export class RunArtifacts {
  constructor(
    private readonly store: Store,
    private readonly run: { id: string; workspaceId: string },
    readonly maxBytes: number,
    private readonly newArtifactId: () => string,
  ) {}

  forCall(toolCallId: string): CallArtifacts {
    const ids: string[] = [];
    return {
      ids,
      maxBytes: this.maxBytes,
      keep: async (artifact: ToolArtifact): Promise<KeptArtifact> => {
        const content = artifact.content.subarray(0, this.maxBytes);
        const kept = {
          id: this.newArtifactId(),
          sizeBytes: content.length,
          truncated: artifact.truncated || content.length < artifact.content.length,
        };
        await this.store.runArtifacts.insert({
          ...kept,
          workspaceId: this.run.workspaceId,
          runId: this.run.id,
          toolCallId,
          name: artifact.name,
          contentType: artifact.contentType,
          content,
          createdAt: new Date().toISOString(),
        });
        ids.push(kept.id);
        return kept;
      },
    };
  }
}
