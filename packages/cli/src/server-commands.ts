import v8 from 'node:v8';
import { ConfigError, loadConfig, migrate, openDatabase, startServer, type Role } from '@runyard/server';

export interface ServerFlags {
  port?: string | undefined;
  host?: string | undefined;
  dataDir?: string | undefined;
}

function configFrom(flags: ServerFlags) {
  return loadConfig({
    ...process.env,
    ...(flags.port !== undefined && { RUNYARD_PORT: flags.port }),
    ...(flags.host !== undefined && { RUNYARD_HOST: flags.host }),
    ...(flags.dataDir !== undefined && { RUNYARD_DATA_DIR: flags.dataDir }),
  });
}

/** Runs until SIGTERM or SIGINT, then shuts down gracefully. Resolves to the exit code. */
export async function runServer(role: Role, flags: ServerFlags): Promise<number> {
  let server;
  try {
    const config = configFrom(flags);
    // Left to itself V8 lets a busy server's heap grow to several times what it keeps alive (RSS
    // of 300 MB for a 45 MB live heap); a bound on the growth keeps memory near what is used.
    if (config.heapGrowthPercent > 0) {
      v8.setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
    }
    server = await startServer(config, { role });
  } catch (error) {
    return reportStartFailure(error);
  }
  const running = server;
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      running.logger.info({ signal }, 'shutting down');
      running.close().then(
        () => resolve(0),
        (error: unknown) => {
          running.logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

export async function runMigrate(flags: ServerFlags): Promise<number> {
  try {
    const config = configFrom(flags);
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      const applied = await migrate(database);
      process.stdout.write(
        applied.length === 0
          ? `${database.description}: up to date\n`
          : `${database.description}: applied ${applied.join(', ')}\n`,
      );
    } finally {
      await database.close();
    }
    return 0;
  } catch (error) {
    return reportStartFailure(error);
  }
}

function reportStartFailure(error: unknown): number {
  if (error instanceof ConfigError) {
    process.stderr.write(`runyard: ${error.message}\n`);
    return 78;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    process.stderr.write(
      `runyard: the port is already in use (${(error as Error).message}); set RUNYARD_PORT or --port\n`,
    );
    return 1;
  }
  process.stderr.write(
    `runyard: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  return 1;
}
