import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { newId } from '../core/ids.ts';
import type { Services } from '../core/services.ts';
import { RunyardError } from '../shared/errors.ts';
import { bindRoutes } from './bind-routes.ts';
import { registerDocsPage } from './docs-page.ts';
import { frameworkErrorOf, registerErrorHandling, sendError, sendFrameworkError } from './error-handler.ts';
import { surfaceErrorHandlerFor } from './compat/compat-routes.ts';
import { registerMakeCompat } from './compat/make/index.ts';
import { registerRunagentsCompat } from './compat/runagents/index.ts';
import { registerRuntoolsCompat } from './compat/runtools/index.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { RateLimiter, rateLimitedAuthenticator } from './rate-limit.ts';
import { refuseDeepNesting } from './validation.ts';
import { v1Handlers } from './v1/handlers.ts';

export interface AppOptions {
  services: Services;
  logger: FastifyBaseLogger;
  bodyLimitBytes: number;
  rateLimitPerMinute: number;
  /** Resolves when the database answers; rejects otherwise. */
  ping: () => Promise<void>;
  /** False while shutting down: /readyz answers 503 so a load balancer stops sending traffic. */
  isAccepting?: () => boolean;
}

const requestIdPattern = /^[A-Za-z0-9_.:-]{1,128}$/;

export function buildApp(options: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimitBytes,
    // A caller's own x-request-id is kept when it is safe to echo; otherwise we issue one.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : newId('request');
    },
    requestIdHeader: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 500 },
    frameworkErrors: (error, request, reply) => {
      // Under a compat prefix, in that surface's shape; elsewhere in /v1's.
      const surfaceHandler = surfaceErrorHandlerFor(app, request.url);
      if (surfaceHandler === undefined) return sendFrameworkError(error, request, reply);
      void reply.header('x-request-id', request.id);
      surfaceHandler(frameworkErrorOf(error, request), request, reply);
    },
  });
  // Bodies are JSON only: Fastify's built-in text/plain parser would let other bodies through.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  // Every body, on every route (/v1 and each compat surface): nested deeper than the limit, it is a
  // 400 in the answering surface's error shape before auth or handler (stack-bound code never sees
  // it). A root hook, so the encapsulated surfaces inherit it.
  app.addHook('preValidation', async (request) => {
    refuseDeepNesting(request.body, 'body');
  });

  registerErrorHandling(app);
  const rateLimiter = new RateLimiter(options.rateLimitPerMinute);
  bindRoutes(app, v1Handlers(options.services), { services: options.services, rateLimiter });
  // The compat surfaces authenticate through the same per-key limit as /v1.
  const surfaceServices = {
    ...options.services,
    auth: rateLimitedAuthenticator(options.services.auth, rateLimiter),
  };

  registerMakeCompat(app, surfaceServices);
  registerRuntoolsCompat(app, surfaceServices);
  registerRunagentsCompat(app, surfaceServices);

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (options.isAccepting !== undefined && !options.isAccepting()) {
      return sendError(reply, new RunyardError('SERVICE_UNAVAILABLE', 'shutting down'));
    }
    try {
      await options.ping();
      return { status: 'ok' };
    } catch {
      return sendError(reply, new RunyardError('SERVICE_UNAVAILABLE', 'the database does not answer'));
    }
  });
  let document: unknown;
  app.get('/openapi.json', async () => (document ??= buildOpenApiDocument()));
  registerDocsPage(app);
  return app;
}
