import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

function problemsOf(environment: Record<string, string>): string[] {
  try {
    loadConfig(environment);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const defaults = {
  port: 8080,
  host: '127.0.0.1',
  dataDir: path.resolve('.runyard'),
  databaseUrl: undefined,
  bootstrapKey: undefined,
  masterKeyHex: undefined,
  logLevel: 'info',
  bodyLimitBytes: 1_048_576,
  rateLimitPerMinute: 1200,
  shutdownGraceMs: 10_000,
  workerConcurrency: 64,
  runLeaseMs: 30_000,
  callbackRetryBaseMs: 1000,
  approvalTimeoutMs: 86_400_000,
  heapGrowthPercent: 50,
  artifactMaxBytes: 10_485_760,
  mcpStdio: 'enabled',
};

describe('loadConfig', () => {
  it('has a default for everything', () => {
    expect(loadConfig({})).toEqual(defaults);
  });

  it('treats an empty variable as unset', () => {
    expect(
      loadConfig({
        RUNYARD_PORT: '',
        RUNYARD_HOST: '',
        RUNYARD_DATA_DIR: '',
        DATABASE_URL: '',
        RUNYARD_BOOTSTRAP_KEY: '',
        RUNYARD_MASTER_KEY: '',
        RUNYARD_LOG_LEVEL: '',
        RUNYARD_BODY_LIMIT_BYTES: '',
        RUNYARD_RATE_LIMIT_PER_MINUTE: '',
        RUNYARD_SHUTDOWN_GRACE_MS: '',
        RUNYARD_WORKER_CONCURRENCY: '',
        RUNYARD_RUN_LEASE_MS: '',
        RUNYARD_CALLBACK_RETRY_BASE_MS: '',
        RUNYARD_MCP_STDIO: '',
      }),
    ).toEqual(defaults);
  });

  it('reads every variable', () => {
    const masterKey = 'ab'.repeat(32);
    expect(
      loadConfig({
        RUNYARD_PORT: '0',
        RUNYARD_HOST: '0.0.0.0',
        RUNYARD_DATA_DIR: 'relative/dir',
        DATABASE_URL: 'postgresql://user@db:5432/runyard?schema=app',
        RUNYARD_BOOTSTRAP_KEY: 'ry_bootstrap_key_0123456789',
        RUNYARD_MASTER_KEY: masterKey,
        RUNYARD_LOG_LEVEL: 'debug',
        RUNYARD_BODY_LIMIT_BYTES: '1024',
        RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
        RUNYARD_SHUTDOWN_GRACE_MS: '600000',
        RUNYARD_WORKER_CONCURRENCY: '1',
        RUNYARD_RUN_LEASE_MS: '3600000',
        RUNYARD_CALLBACK_RETRY_BASE_MS: '10',
        RUNYARD_APPROVAL_TIMEOUT_MS: '5000',
        RUNYARD_HEAP_GROWTH_PERCENT: '0',
        RUNYARD_ARTIFACT_MAX_BYTES: '2048',
        RUNYARD_MCP_STDIO: 'disabled',
        UNRELATED: 'ignored',
      }),
    ).toEqual({
      port: 0,
      host: '0.0.0.0',
      dataDir: path.resolve('relative/dir'),
      databaseUrl: 'postgresql://user@db:5432/runyard?schema=app',
      bootstrapKey: 'ry_bootstrap_key_0123456789',
      masterKeyHex: masterKey,
      logLevel: 'debug',
      bodyLimitBytes: 1024,
      rateLimitPerMinute: 0,
      shutdownGraceMs: 600_000,
      workerConcurrency: 1,
      runLeaseMs: 3_600_000,
      callbackRetryBaseMs: 10,
      approvalTimeoutMs: 5000,
      heapGrowthPercent: 0,
      artifactMaxBytes: 2048,
      mcpStdio: 'disabled',
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/x' }).databaseUrl).toBe('postgres://localhost/x');
  });

  it.each([
    ['RUNYARD_PORT', 'abc', 'whole number from 0 to 65535'],
    ['RUNYARD_PORT', '65536', 'whole number from 0 to 65535'],
    ['RUNYARD_PORT', '-1', 'whole number from 0 to 65535'],
    ['RUNYARD_PORT', '80.5', 'whole number from 0 to 65535'],
    ['DATABASE_URL', 'mysql://localhost/db', 'postgres:// or postgresql:// URL'],
    ['DATABASE_URL', '/var/lib/runyard.db', 'postgres:// or postgresql:// URL'],
    ['RUNYARD_BOOTSTRAP_KEY', 'too-short', '24–200 characters of A-Z, a-z, 0-9, _ and -'],
    ['RUNYARD_BOOTSTRAP_KEY', 'has spaces in it but is long enough', '24–200 characters'],
    ['RUNYARD_MASTER_KEY', 'zz'.repeat(32), '64 hexadecimal characters'],
    ['RUNYARD_MASTER_KEY', 'ab'.repeat(31), '64 hexadecimal characters'],
    ['RUNYARD_LOG_LEVEL', 'loud', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['RUNYARD_LOG_LEVEL', 'INFO', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['RUNYARD_BODY_LIMIT_BYTES', '1023', 'whole number from 1024 to 104857600'],
    ['RUNYARD_RATE_LIMIT_PER_MINUTE', '-5', 'whole number from 0 to 10000000'],
    ['RUNYARD_SHUTDOWN_GRACE_MS', 'soon', 'whole number from 0 to 600000'],
    ['RUNYARD_WORKER_CONCURRENCY', '0', 'whole number from 1 to 10000'],
    ['RUNYARD_RUN_LEASE_MS', '999', 'whole number from 1000 to 3600000'],
    ['RUNYARD_CALLBACK_RETRY_BASE_MS', '9', 'whole number from 10 to 3600000'],
    ['RUNYARD_HEAP_GROWTH_PERCENT', '301', 'whole number from 0 to 300'],
    ['RUNYARD_MCP_STDIO', 'off', 'one of enabled, disabled'],
  ])('%s=%s names the variable and what is allowed', (variable, value, allowed) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(variable);
    expect(problems[0]).toContain(allowed);
  });

  it('lists every bad variable at once', () => {
    const environment = {
      RUNYARD_PORT: 'eighty',
      DATABASE_URL: 'sqlite://file',
      RUNYARD_MASTER_KEY: 'short',
      RUNYARD_LOG_LEVEL: 'chatty',
      RUNYARD_SHUTDOWN_GRACE_MS: '-1',
      RUNYARD_HOST: 'fine.example',
    };
    const problems = problemsOf(environment);
    const named = [
      'RUNYARD_PORT',
      'DATABASE_URL',
      'RUNYARD_MASTER_KEY',
      'RUNYARD_LOG_LEVEL',
      'RUNYARD_SHUTDOWN_GRACE_MS',
    ];
    expect(problems).toHaveLength(named.length);
    for (const variable of named)
      expect(problems.filter((problem) => problem.includes(variable))).toHaveLength(1);
    expect(() => loadConfig(environment)).toThrow(/^Invalid configuration:\n {2}- /);
    const error = new ConfigError(problems);
    expect(error.name).toBe('ConfigError');
    for (const problem of problems) expect(error.message).toContain(`  - ${problem}`);
  });

  it('does not echo a secret value in its complaint', () => {
    const problems = problemsOf({ RUNYARD_MASTER_KEY: 'not-hex-but-secret-looking' });
    expect(problems.join('\n')).not.toContain('not-hex-but-secret-looking');
  });
});
