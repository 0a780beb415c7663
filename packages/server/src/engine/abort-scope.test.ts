import { describe, expect, it } from 'vitest';
import { abortScope } from './abort-scope.ts';
import { sleep } from '@runyard/protocol';

describe('abortScope', () => {
  it("aborts with the parent's reason", () => {
    const parent = new AbortController();
    const scope = abortScope(parent.signal, 60_000);
    const reason = new Error('cancelled');
    parent.abort(reason);
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toBe(reason);
    scope.dispose();
  });

  it('is aborted from the start under an aborted parent', () => {
    const parent = new AbortController();
    parent.abort('gone');
    expect(abortScope(parent.signal, 10).signal.reason).toBe('gone');
  });

  it('times out with a TimeoutError, or the reason given, and leaves the parent alone', async () => {
    const parent = new AbortController();
    const scope = abortScope(parent.signal, 20);
    const custom = abortScope(parent.signal, 20, () => 'deadline');
    await sleep(60);
    expect((scope.signal.reason as Error).name).toBe('TimeoutError');
    expect(custom.signal.reason).toBe('deadline');
    expect(parent.signal.aborted).toBe(false);
  });

  it('once disposed, neither the timer nor the parent aborts it', async () => {
    const parent = new AbortController();
    const scope = abortScope(parent.signal, 20);
    scope.dispose();
    await sleep(60);
    parent.abort('late');
    expect(scope.signal.aborted).toBe(false);
  });
});
