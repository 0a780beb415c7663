import { afterAll, beforeAll } from 'vitest';
import { postgresAvailable, type BackendName } from './backends.ts';
import { startTestServer, type TestServer } from './server.ts';

/**
 * One real server for the enclosing `describe`, started before its tests and deleted after.
 * `skip` is true for PostgreSQL when no PostgreSQL answers (backends.ts has printed the loud line):
 * pass it to `it.skipIf`.
 */
export function useTestServer(
  backend: BackendName,
  environment: Record<string, string> = {},
): { skip: boolean; server: () => TestServer } {
  const skip = backend === 'postgres' && !postgresAvailable;
  let server: TestServer | undefined;
  beforeAll(async () => {
    if (!skip) server = await startTestServer(backend, environment);
  });
  afterAll(async () => {
    await server?.close();
  });
  return {
    skip,
    server: () => {
      if (server === undefined) throw new Error('the test server has not started');
      return server;
    },
  };
}
