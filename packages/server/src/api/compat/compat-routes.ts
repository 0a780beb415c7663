import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Scope } from '@runyard/protocol';
import { hasScope, type Caller } from '../../core/caller.ts';
import type { Services } from '../../core/services.ts';
import { RunyardError } from '../../shared/errors.ts';
import { headerValue } from '../request-headers.ts';
import { parseOrThrow } from '../validation.ts';

/**
 * The one route builder of the compat surfaces. A surface is declared, not hand-wired: its prefix,
 * the ways it accepts an API key, and each operation once (operationId, method, url, scope,
 * optional zod schemas). `registerCompatSurface` mounts it as an encapsulated plugin with its own
 * error renderer; `compatRouteBinder` gives its handler modules an `addRoute` that binds a declared
 * operation to its handler. Every request goes: authenticate (the rate-limited authenticator) →
 * scope → the surface's own context (Make's team, runagents' namespace) → validate → handler.
 * `compat-catalogue.ts` lists every declared operation, which the contract suites iterate.
 */

/**
 * How a surface accepts an API key: `Authorization: Token <key>`, `Authorization: Bearer <key>`,
 * or an `x-api-key` header. A surface names only what it reads, and its 401s name only those.
 */
export type CompatAuthStyle = 'token' | 'bearer' | 'x-api-key';

export type CompatMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface OperationShape {
  method: CompatMethod;
  /** Under the surface's prefix, in Fastify's `:param` form. */
  url: string;
  /** Parsed into the handler's `params`, `query` and `body` (400 in the surface's shape) when given. */
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

/** An operation behind a key: the Runyard scope it needs, like the /v1 route it delegates to. */
export interface KeyedOperation extends OperationShape {
  scope: Scope;
}

/** An operation anyone may call (no key is read): it must read and store nothing of a workspace. */
export interface PublicOperation extends OperationShape {
  public: true;
}

export type CompatOperationDeclaration = KeyedOperation | PublicOperation;

export interface CompatSurface<Operations extends Record<string, CompatOperationDeclaration>> {
  /** The surface's name, also the folder under `api/compat/` and its page in `docs/compat/`. */
  name: string;
  /** Where it is mounted, e.g. `/compat/make`. */
  prefix: string;
  /** What the keyed operations accept; the first is the surface's documented style. */
  auth: readonly [CompatAuthStyle, ...CompatAuthStyle[]];
  operations: Operations;
}

/** Types a surface declaration, keeping its operationIds as literal keys. */
export function defineCompatSurface<const Operations extends Record<string, CompatOperationDeclaration>>(
  surface: CompatSurface<Operations>,
): CompatSurface<Operations> {
  return surface;
}

/** One row of the compat catalogue: what a test needs to call the operation. */
export interface CompatCatalogueEntry {
  surface: string;
  operationId: string;
  method: CompatMethod;
  /** The full path in Fastify's `:param` form, prefix included. */
  path: string;
  /** null for a public operation. */
  scope: Scope | null;
  /** Empty for a public operation. */
  auth: readonly CompatAuthStyle[];
}

export function catalogueOf(
  surface: CompatSurface<Record<string, CompatOperationDeclaration>>,
): CompatCatalogueEntry[] {
  return Object.entries(surface.operations).map(([operationId, operation]) => ({
    surface: surface.name,
    operationId,
    method: operation.method,
    path: `${surface.prefix}${operation.url}`,
    scope: 'scope' in operation ? operation.scope : null,
    auth: 'scope' in operation ? surface.auth : [],
  }));
}

/** A JSON body to send (status 200 unless given), or the reply the handler answered itself. */
export type CompatResult = { status?: number; body: unknown } | { answered: FastifyReply };

type Parsed<Schema> = Schema extends z.ZodType ? z.output<Schema> : undefined;

/** What every handler of a declared operation is given. */
export interface CompatRequestContext {
  request: FastifyRequest;
  reply: FastifyReply;
}

export type HandlerContext<Operation, Extra> = CompatRequestContext & {
  params: Parsed<Operation extends { params: infer Schema } ? Schema : undefined>;
  query: Parsed<Operation extends { query: infer Schema } ? Schema : undefined>;
  body: Parsed<Operation extends { body: infer Schema } ? Schema : undefined>;
} & (Operation extends KeyedOperation ? { caller: Caller } & Extra : unknown);

export interface CompatRoute<Operations, Id extends keyof Operations, Extra> {
  operationId: Id;
  handler: (context: HandlerContext<Operations[Id], Extra>) => Promise<CompatResult>;
}

/**
 * What a surface adds to the context of its keyed operations once the key is known and has the
 * scope (Make's team, runagents' namespace); it may refuse the request.
 */
export type ResolveContext<Extra> = (
  services: Services,
  caller: Caller,
  request: FastifyRequest,
) => Promise<Extra>;

/** The operations bound on each mounted surface, so a declared but unbound operation stops the start. */
const boundOperations = new WeakMap<FastifyInstance, Set<string>>();

/**
 * The surface's `addRoute(app, services, {operationId, handler})`: binds one declared operation.
 * Binding an undeclared operationId does not type-check; binding one twice throws.
 */
export function compatRouteBinder<Operations extends Record<string, CompatOperationDeclaration>, Extra>(
  surface: CompatSurface<Operations>,
  resolve: ResolveContext<Extra>,
) {
  return function addRoute<Id extends keyof Operations & string>(
    app: FastifyInstance,
    services: Services,
    route: CompatRoute<Operations, Id, Extra>,
  ): void {
    const operation: CompatOperationDeclaration | undefined = surface.operations[route.operationId];
    if (operation === undefined) throw new Error(`${surface.name}: no operation ${route.operationId}`);
    const bound = boundOperations.get(app) ?? new Set<string>();
    boundOperations.set(app, bound);
    if (bound.has(route.operationId)) {
      throw new Error(`${surface.name}: operation ${route.operationId} is bound twice`);
    }
    bound.add(route.operationId);
    const handler = route.handler as (context: Record<string, unknown>) => Promise<CompatResult>;
    app.route({
      method: operation.method,
      url: operation.url,
      handler: async (request, reply) => {
        let keyed: Record<string, unknown> = {};
        if ('scope' in operation) {
          const caller = await services.auth.authenticate(presentedCompatKey(surface, request));
          if (!hasScope(caller, operation.scope)) {
            throw new RunyardError('PERMISSION_DENIED', `this API key lacks the '${operation.scope}' scope`, {
              requiredScope: operation.scope,
              scopes: caller.scopes,
            });
          }
          keyed = { caller, ...(await resolve(services, caller, request)) };
        }
        const result = await handler({
          ...keyed,
          request,
          reply,
          params: operation.params && parseOrThrow(operation.params, request.params, 'path'),
          query: operation.query && parseOrThrow(operation.query, request.query ?? {}, 'query'),
          body: operation.body && parseOrThrow(operation.body, request.body ?? {}, 'body'),
        });
        if ('answered' in result) return result.answered;
        if (result.status === 204 || result.body === undefined)
          return reply.code(result.status ?? 200).send();
        return reply.code(result.status ?? 200).send(result.body);
      },
    });
  };
}

/**
 * Mounts a surface under its prefix as an encapsulated plugin: `setUp` installs its error
 * renderer (and any parser of its own) and binds its operations. A declared operation left unbound
 * fails the start, so the catalogue never lists a route that does not exist.
 */
export function registerCompatSurface(
  app: FastifyInstance,
  surface: CompatSurface<Record<string, CompatOperationDeclaration>>,
  setUp: (instance: FastifyInstance) => void,
): void {
  void app.register(
    async (instance) => {
      setUp(instance);
      const handlers = surfaceErrorHandlers.get(app) ?? [];
      surfaceErrorHandlers.set(app, handlers);
      handlers.push({ prefix: surface.prefix, handle: instance.errorHandler });
      const bound = boundOperations.get(instance) ?? new Set<string>();
      const unbound = Object.keys(surface.operations).filter((operationId) => !bound.has(operationId));
      if (unbound.length > 0) {
        throw new Error(`${surface.name}: declared operations without a handler: ${unbound.join(', ')}`);
      }
    },
    { prefix: surface.prefix },
  );
}

type ErrorHandler = FastifyInstance['errorHandler'];

/** Each mounted surface's error handler, by the app it is mounted on. */
const surfaceErrorHandlers = new WeakMap<FastifyInstance, { prefix: string; handle: ErrorHandler }[]>();

/**
 * The error handler of the surface a URL belongs to: failures before routing (a malformed URL, an
 * over-long path parameter) reach no surface's plugin, yet must answer in its shape.
 */
export function surfaceErrorHandlerFor(app: FastifyInstance, url: string): ErrorHandler | undefined {
  return surfaceErrorHandlers
    .get(app)
    ?.find(({ prefix }) => url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`))
    ?.handle;
}

const authorizationSchemes: Partial<Record<CompatAuthStyle, string>> = { token: 'Token', bearer: 'Bearer' };

const styleLabels: Record<CompatAuthStyle, string> = {
  token: '"Authorization: Token <key>"',
  bearer: '"Authorization: Bearer <key>"',
  'x-api-key': '"x-api-key: <key>"',
};

/**
 * The key in the styles the surface accepts. An Authorization header wins; one in a scheme the
 * surface does not accept is no key (401 naming the accepted styles), never a fallback to another
 * header. No key at all is a 401 that names exactly the surface's styles.
 */
export function presentedCompatKey(
  surface: CompatSurface<Record<string, CompatOperationDeclaration>>,
  request: FastifyRequest,
): string {
  const schemes = surface.auth.flatMap((style) => authorizationSchemes[style] ?? []);
  const authorization = headerValue(request, 'authorization');
  let key: string | undefined;
  if (authorization !== undefined) {
    const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization);
    const scheme = schemes.find((name) => name.toLowerCase() === match?.[1]?.toLowerCase());
    key = scheme === undefined ? undefined : match?.[2];
  } else if (surface.auth.includes('x-api-key')) {
    key = headerValue(request, 'x-api-key');
  }
  if (key !== undefined && key !== '') return key;
  throw new RunyardError('UNAUTHENTICATED', missingKeyMessage(surface, request));
}

export function missingKeyMessage(
  surface: Pick<CompatSurface<Record<string, CompatOperationDeclaration>>, 'auth'>,
  request: FastifyRequest,
): string {
  const labels = surface.auth.map((style) => styleLabels[style]);
  const listed =
    labels.length === 1 ? labels[0] : `${labels.slice(0, -1).join(', ')} or ${labels.at(-1) ?? ''}`;
  const ignored =
    !surface.auth.includes('x-api-key') && headerValue(request, 'x-api-key') !== undefined
      ? ' (this API does not read x-api-key)'
      : '';
  return `send your API key as ${listed}${ignored}`;
}

/** The resource, or undefined when the service answers NOT_FOUND; other failures propagate. */
export async function unlessNotFound<T>(lookup: Promise<T>): Promise<T | undefined> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof RunyardError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}
