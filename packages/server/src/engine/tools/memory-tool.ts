import type { MemoryScope } from '../../store/index.ts';
import type { Tool, ToolRunScope } from './tool.ts';
import { ToolError } from './tool-error.ts';

export const memoryLimits = {
  keyChars: 200,
  valueBytes: 16 * 1024,
  keysPerScope: 1000,
  /** `list` shows each value as JSON text cut to this many characters. */
  listedValueChars: 200,
} as const;

interface MemoryInput {
  action: 'get' | 'set' | 'delete' | 'list';
  key?: string;
  value?: unknown;
  scope?: 'thread' | 'agent';
}

/**
 * The `memory` built-in: an agent's key-value notes, kept across runs. `thread` notes belong to
 * the run's thread (deleted with it), `agent` notes to the agent across all its threads (deleted
 * with the agent). Without `scope`: the thread when the run has one, else the agent. Notes are
 * per agent: another agent, even on the same thread, sees none of them.
 */
export const memoryTool: Tool = {
  name: 'memory',
  description:
    'Your notes, kept across runs. action "set" stores a JSON value under a key, "get" reads it, ' +
    '"delete" removes it, "list" shows the keys. scope "thread" (the default when there is a ' +
    'conversation) is this conversation only; "agent" is shared by all your conversations.',
  inputSchema: {
    type: 'object',
    properties: {
      action: { type: 'string', enum: ['get', 'set', 'delete', 'list'] },
      key: { type: 'string', minLength: 1, maxLength: memoryLimits.keyChars },
      value: { description: 'For set: any JSON value (at most 16 KB).' },
      scope: { type: 'string', enum: ['thread', 'agent'] },
    },
    required: ['action'],
    additionalProperties: false,
  },
  async execute(rawInput, context) {
    const input = rawInput as MemoryInput;
    const run = context.run;
    if (run === undefined) {
      throw new ToolError('invalid-input', 'memory belongs to an agent: only a run can use it');
    }
    const scope = scopeOf(run, input.scope);
    const { memory, agentId } = run;
    const { workspaceId } = context;
    const scopeName = scope.kind;
    if (input.action === 'list') {
      const entries = await memory.list(workspaceId, agentId, scope, memoryLimits.keysPerScope);
      return {
        scope: scopeName,
        keys: entries.map((entry) => ({
          key: entry.key,
          value: truncated(JSON.stringify(entry.value)),
          updatedAt: entry.updatedAt,
        })),
      };
    }
    const key = requireKey(input);
    switch (input.action) {
      case 'get': {
        const entry = await memory.get(workspaceId, agentId, scope, key);
        return entry === undefined
          ? { scope: scopeName, key, found: false, value: null }
          : { scope: scopeName, key, found: true, value: entry.value, updatedAt: entry.updatedAt };
      }
      case 'delete':
        return { scope: scopeName, key, deleted: await memory.delete(workspaceId, agentId, scope, key) };
      case 'set': {
        if (!('value' in input) || input.value === undefined) {
          throw new ToolError('invalid-input', 'set needs a value (any JSON value; null to store null)');
        }
        const bytes = Buffer.byteLength(JSON.stringify(input.value), 'utf8');
        if (bytes > memoryLimits.valueBytes) {
          throw new ToolError(
            'invalid-input',
            `the value is ${bytes} bytes of JSON; at most ${memoryLimits.valueBytes} may be stored under one key`,
          );
        }
        // The count is checked before the write, not with it: concurrent sets of new keys in one
        // scope (parallel tool calls) may pass the limit by their number, never by more.
        const existing = await memory.get(workspaceId, agentId, scope, key);
        if (existing === undefined) {
          const count = await memory.count(workspaceId, agentId, scope);
          if (count >= memoryLimits.keysPerScope) {
            throw new ToolError(
              'invalid-input',
              `the ${scopeName} memory holds ${count} keys, the most it may; delete some first`,
            );
          }
        }
        await memory.set(workspaceId, agentId, scope, key, input.value, new Date().toISOString());
        return { scope: scopeName, key, stored: true };
      }
    }
  },
};

function scopeOf(run: ToolRunScope, requested: MemoryInput['scope']): MemoryScope {
  const wanted = requested ?? (run.threadId === null ? 'agent' : 'thread');
  if (wanted === 'agent') return { kind: 'agent' };
  if (run.threadId === null) {
    throw new ToolError('invalid-input', 'this run has no thread (it is stateless): use scope "agent"');
  }
  return { kind: 'thread', threadId: run.threadId };
}

function requireKey(input: MemoryInput): string {
  if (input.key === undefined) throw new ToolError('invalid-input', `${input.action} needs a key`);
  return input.key;
}

function truncated(text: string): string {
  return text.length <= memoryLimits.listedValueChars
    ? text
    : `${text.slice(0, memoryLimits.listedValueChars)}…[truncated: ${text.length} characters]`;
}
