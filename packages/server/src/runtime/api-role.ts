import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.ts';
import type { Config } from '../config/config.ts';
import type { Services } from '../core/services.ts';
import type { DatabaseHandle } from '../store/index.ts';

export interface ApiRoleParts {
  config: Config;
  database: DatabaseHandle;
  services: Services;
  logger: Logger;
  /** False once shutdown began: readiness says so, so load balancers stop sending. */
  isAccepting: () => boolean;
}

/** What a process of role `all` or `api` runs: the HTTP API, listening. */
export interface ApiRole {
  app: FastifyInstance;
  /** The base URL the API listens on. */
  url: string;
  /** Stops accepting and lets in-flight requests finish, cutting them off after the grace period. */
  close(): Promise<void>;
}

export async function startApiRole(parts: ApiRoleParts): Promise<ApiRole> {
  const { config, database, services, logger, isAccepting } = parts;
  const app = buildApp({
    services,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    rateLimitPerMinute: config.rateLimitPerMinute,
    ping: () => database.ping(),
    isAccepting,
  });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    app,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    async close() {
      const grace = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs);
      grace.unref();
      await app.close();
      clearTimeout(grace);
    },
  };
}
