import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { idempotencyKeyOf } from './http-tool.ts';

describe('the Idempotency-Key of a tool call', () => {
  it('is <runId>:<toolCallId> in a run, the same for the same call', () => {
    const call = { runId: 'run_01hzy3', toolCallId: 'call_abc123' };
    expect(idempotencyKeyOf(call)).toBe('run_01hzy3:call_abc123');
    expect(idempotencyKeyOf({ ...call })).toBe(idempotencyKeyOf(call));
    expect(idempotencyKeyOf({ ...call, toolCallId: 'call_abc124' })).not.toBe(idempotencyKeyOf(call));
  });

  it('is the toolCallId of a direct invoke, which has no run', () => {
    expect(idempotencyKeyOf({ runId: null, toolCallId: 'invoke_5f0c' })).toBe('invoke_5f0c');
  });

  it('hashes a toolCallId a header cannot carry, or one that makes the key too long', () => {
    const digest = (text: string) => createHash('sha256').update(text).digest('hex');
    for (const toolCallId of ['call with spaces', 'call_é', 'call\r\nx', 'c'.repeat(300)]) {
      const key = idempotencyKeyOf({ runId: 'run_1', toolCallId });
      expect(key).toBe(`run_1:${digest(toolCallId)}`);
      expect(key).toMatch(/^[\x21-\x7e]{1,255}$/);
    }
    expect(idempotencyKeyOf({ runId: null, toolCallId: 'x'.repeat(256) })).toBe(digest('x'.repeat(256)));
  });
});
