import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requireSystemDependencies, systemDependency } from './system-dependency.ts';

const missing = { executable: 'runyard-no-such-program', install: 'nothing to install', skips: 'a suite' };

describe('systemDependency', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('finds a program by absolute path or on PATH', () => {
    vi.stubEnv(requireSystemDependencies, undefined);
    expect(systemDependency({ ...missing, executable: process.execPath })).toBe(process.execPath);
    vi.stubEnv('PATH', `/nonexistent${path.delimiter}${path.dirname(process.execPath)}`);
    expect(systemDependency({ ...missing, executable: path.basename(process.execPath) })).toBe(
      process.execPath,
    );
  });

  it('without it: one loud line naming what to install and what skips, then undefined', () => {
    vi.stubEnv(requireSystemDependencies, undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(systemDependency(missing)).toBeUndefined();
    expect(systemDependency({ ...missing, executable: '/nonexistent/chromium' })).toBeUndefined();
    expect(warn.mock.calls).toEqual([
      ['\n!!! runyard-no-such-program is not installed (nothing to install): a suite is SKIPPED !!!\n'],
      ['\n!!! /nonexistent/chromium is not installed (nothing to install): a suite is SKIPPED !!!\n'],
    ]);
  });

  it('fails instead of skipping where CI requires every system dependency', () => {
    vi.stubEnv(requireSystemDependencies, '1');
    expect(() => systemDependency(missing)).toThrow(
      /runyard-no-such-program is not installed .*a suite must run/,
    );
  });
});
