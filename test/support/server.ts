import { Writable } from 'node:stream';
import { createLogger, loadConfig, startServer, type RunningServer } from '@runyard/server';
import { Runyard } from '@runyard/sdk';
import { createBackend, type Backend, type BackendName } from './backends.ts';

export const testBootstrapKey = 'ry_test_bootstrap_key_0123456789abcdef';

export interface TestServer {
  url: string;
  adminKey: string;
  admin: Runyard;
  backend: Backend;
  server: RunningServer;
  /** Every log line the server wrote. */
  logs: string[];
  client: (apiKey: string) => Runyard;
  /** Stops the server (and keeps the database, for restart tests). */
  stop(): Promise<void>;
  /** Stops the server and deletes its database. */
  close(): Promise<void>;
}

/** A real server on a real port (0: any free one) over a fresh SQLite file or PostgreSQL schema. */
export async function startTestServer(
  backendName: BackendName,
  environment: Record<string, string> = {},
  existingBackend?: Backend,
): Promise<TestServer> {
  const backend = existingBackend ?? (await createBackend(backendName));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({
    RUNYARD_PORT: '0',
    RUNYARD_DATA_DIR: backend.dataDir,
    RUNYARD_BOOTSTRAP_KEY: testBootstrapKey,
    RUNYARD_LOG_LEVEL: 'info',
    RUNYARD_RATE_LIMIT_PER_MINUTE: '0',
    ...(backend.databaseUrl !== undefined && { DATABASE_URL: backend.databaseUrl }),
    ...environment,
  });
  const server = await startServer(config, {
    logger: createLogger(config, sink),
    announce: (line) => logs.push(line),
  });
  const url = server.url!;
  const adminKey = environment.RUNYARD_BOOTSTRAP_KEY ?? testBootstrapKey;
  const client = (apiKey: string) => new Runyard({ baseUrl: url, apiKey, maxRetries: 0 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
  return {
    url,
    adminKey,
    admin: client(adminKey),
    backend,
    server,
    logs,
    client,
    stop,
    close: async () => {
      await stop();
      await backend.cleanup();
    },
  };
}
