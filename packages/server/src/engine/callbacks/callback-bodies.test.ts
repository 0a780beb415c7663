import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../store/index.ts';
import { idToUuid } from '../../shared/id-uuid-codec.ts';
import { renderCallbackBody } from './callback-bodies.ts';
import { toRun } from '../runs/run-view.ts';

const record: RunRecord = {
  id: 'run_01jz000000abcdefghjkmnpqrs',
  workspaceId: 'ws_01jz000000abcdefghjkmnpqrs',
  agentId: 'agt_01jz000000abcdefghjkmnpqrs',
  agentVersion: 1,
  threadId: 'thr_01jz000000abcdefghjkmnpqrs',
  status: 'succeeded',
  input: [{ role: 'user', content: 'hi' }],
  output: { text: 'You said: hi' },
  error: null,
  inputTokens: 3,
  outputTokens: 4,
  costUsd: 0,
  costIncomplete: false,
  iterations: 1,
  metadata: {},
  options: { environment: 'draft', mode: 'background', onConflict: 'enqueue', stateless: false },
  callbackUrl: 'http://127.0.0.1:9/hook',
  callbackSecret: null,
  cancelRequested: false,
  leaseOwner: null,
  leaseExpiresAt: null,
  claims: 1,
  createdAt: '2025-01-01T00:00:00.000Z',
  startedAt: '2025-01-01T00:00:01.000Z',
  finishedAt: '2025-01-01T00:00:01.250Z',
  updatedAt: '2025-01-01T00:00:01.250Z',
};

describe('callback bodies', () => {
  it('sends the Runyard run when the run names no format', () => {
    expect(JSON.parse(renderCallbackBody(record))).toEqual(toRun(record));
  });

  it("sends Make's run result, naming the thread as the client does", () => {
    const named = {
      ...record,
      options: { ...record.options, callbackBody: { format: 'make' as const, threadId: 'my-thread' } },
    };
    expect(JSON.parse(renderCallbackBody(named))).toEqual({
      response: 'You said: hi',
      executionTimeMs: 250,
      threadId: 'my-thread',
      lastAgentIterationId: idToUuid(record.id),
    });
    const unnamed = { ...record, options: { ...record.options, callbackBody: { format: 'make' as const } } };
    expect(JSON.parse(renderCallbackBody(unnamed))).toMatchObject({
      threadId: idToUuid(record.threadId ?? ''),
    });
  });

  it("adds Make's error to the result of a run that failed", () => {
    const failed: RunRecord = {
      ...record,
      status: 'failed',
      output: null,
      error: { code: 'PROVIDER_ERROR', message: 'the provider answered 500' },
      options: { ...record.options, callbackBody: { format: 'make', threadId: 't' } },
    };
    expect(JSON.parse(renderCallbackBody(failed))).toEqual({
      response: '',
      executionTimeMs: 250,
      threadId: 't',
      lastAgentIterationId: idToUuid(record.id),
      error: { message: 'Agent run failed', code: 'PROVIDER_ERROR', detail: 'the provider answered 500' },
    });
  });
});
