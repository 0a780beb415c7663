import path from 'node:path';
import { z } from 'zod';

const integer = (name: string, fallback: number, minimum: number, maximum: number) =>
  z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined || value.trim() === '') return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < minimum || parsed > maximum) {
        context.addIssue({
          code: 'custom',
          message: `${name} must be a whole number from ${minimum} to ${maximum}, got '${value}'`,
        });
        return z.NEVER;
      }
      return parsed;
    });

/** An empty variable (e.g. `KEY=` in an env file) means the same as an unset one. */
const emptyAsUnset = (value: string | undefined) => (value === '' ? undefined : value);

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const mcpStdioSettings = ['enabled', 'disabled'] as const;

/** Every setting Runyard reads from the environment. Documented in README.md (a test keeps them in step). */
export const configSchema = z.object({
  RUNYARD_PORT: integer('RUNYARD_PORT', 8080, 0, 65_535),
  RUNYARD_HOST: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value === '' ? '127.0.0.1' : value)),
  RUNYARD_DATA_DIR: z
    .string()
    .optional()
    .transform((value) => path.resolve(value === undefined || value === '' ? '.runyard' : value)),
  DATABASE_URL: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .refine(
      (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
      'DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for the embedded database)',
    ),
  RUNYARD_BOOTSTRAP_KEY: z
    .string()
    .optional()
    .transform(emptyAsUnset)
    .refine(
      (value) => value === undefined || /^[A-Za-z0-9_-]{24,200}$/.test(value),
      'RUNYARD_BOOTSTRAP_KEY must be 24–200 characters of A-Z, a-z, 0-9, _ and -',
    ),
  RUNYARD_MASTER_KEY: z
    .string()
    .optional()
    .transform(emptyAsUnset)
    .refine(
      (value) => value === undefined || /^[0-9a-fA-F]{64}$/.test(value),
      'RUNYARD_MASTER_KEY must be 64 hexadecimal characters (32 bytes), e.g. from `openssl rand -hex 32`',
    ),
  RUNYARD_LOG_LEVEL: z
    .string()
    .optional()
    .transform((value) => emptyAsUnset(value) ?? 'info')
    .pipe(z.enum(logLevels, { error: () => `RUNYARD_LOG_LEVEL must be one of ${logLevels.join(', ')}` })),
  RUNYARD_BODY_LIMIT_BYTES: integer('RUNYARD_BODY_LIMIT_BYTES', 1_048_576, 1024, 104_857_600),
  RUNYARD_RATE_LIMIT_PER_MINUTE: integer('RUNYARD_RATE_LIMIT_PER_MINUTE', 1200, 0, 10_000_000),
  RUNYARD_SHUTDOWN_GRACE_MS: integer('RUNYARD_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  RUNYARD_WORKER_CONCURRENCY: integer('RUNYARD_WORKER_CONCURRENCY', 64, 1, 10_000),
  RUNYARD_RUN_LEASE_MS: integer('RUNYARD_RUN_LEASE_MS', 30_000, 1000, 3_600_000),
  RUNYARD_CALLBACK_RETRY_BASE_MS: integer('RUNYARD_CALLBACK_RETRY_BASE_MS', 1000, 10, 3_600_000),
  RUNYARD_APPROVAL_TIMEOUT_MS: integer(
    'RUNYARD_APPROVAL_TIMEOUT_MS',
    24 * 60 * 60 * 1000,
    100,
    30 * 24 * 60 * 60 * 1000,
  ),
  RUNYARD_HEAP_GROWTH_PERCENT: integer('RUNYARD_HEAP_GROWTH_PERCENT', 50, 0, 300),
  RUNYARD_ARTIFACT_MAX_BYTES: integer(
    'RUNYARD_ARTIFACT_MAX_BYTES',
    10 * 1024 * 1024,
    1024,
    256 * 1024 * 1024,
  ),
  RUNYARD_MCP_STDIO: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value === '' ? 'enabled' : value))
    .pipe(
      z.enum(mcpStdioSettings, {
        error: () => `RUNYARD_MCP_STDIO must be one of ${mcpStdioSettings.join(', ')}`,
      }),
    ),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  bootstrapKey: string | undefined;
  masterKeyHex: string | undefined;
  logLevel: (typeof logLevels)[number];
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  shutdownGraceMs: number;
  workerConcurrency: number;
  runLeaseMs: number;
  /** The bound of the random delay (full jitter) before the second callback attempt; each later one doubles it (capped at 1 hour). */
  callbackRetryBaseMs: number;
  /** How long a pending approval waits before it expires and counts as denied. */
  approvalTimeoutMs: number;
  /**
   * How far past what survived its last full collection V8 lets the heap grow before the next one
   * (0: V8's own choice, up to 4×). Set by the `runyard` process, not by startServer (a library).
   */
  heapGrowthPercent: number;
  /** The most of one run artifact that is stored (an oversized tool response); the rest is cut off. */
  artifactMaxBytes: number;
  /**
   * Whether MCP tools may run a program on this host (transport stdio). Whoever holds `write` scope
   * in any workspace can define one, so a server shared by teams that do not trust each other turns
   * it off.
   */
  mcpStdio: (typeof mcpStdioSettings)[number];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment into a Config, or throws a ConfigError listing every bad variable. */
export function loadConfig(environment: Record<string, string | undefined> = process.env): Config {
  const result = configSchema.safeParse(environment);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? 'environment');
        return issue.message.includes(variable) ? issue.message : `${variable}: ${issue.message}`;
      }),
    );
  }
  const value = result.data;
  return {
    port: value.RUNYARD_PORT,
    host: value.RUNYARD_HOST,
    dataDir: value.RUNYARD_DATA_DIR,
    databaseUrl: value.DATABASE_URL,
    bootstrapKey: value.RUNYARD_BOOTSTRAP_KEY,
    masterKeyHex: value.RUNYARD_MASTER_KEY,
    logLevel: value.RUNYARD_LOG_LEVEL,
    bodyLimitBytes: value.RUNYARD_BODY_LIMIT_BYTES,
    rateLimitPerMinute: value.RUNYARD_RATE_LIMIT_PER_MINUTE,
    shutdownGraceMs: value.RUNYARD_SHUTDOWN_GRACE_MS,
    workerConcurrency: value.RUNYARD_WORKER_CONCURRENCY,
    runLeaseMs: value.RUNYARD_RUN_LEASE_MS,
    callbackRetryBaseMs: value.RUNYARD_CALLBACK_RETRY_BASE_MS,
    approvalTimeoutMs: value.RUNYARD_APPROVAL_TIMEOUT_MS,
    heapGrowthPercent: value.RUNYARD_HEAP_GROWTH_PERCENT,
    artifactMaxBytes: value.RUNYARD_ARTIFACT_MAX_BYTES,
    mcpStdio: value.RUNYARD_MCP_STDIO,
  };
}
