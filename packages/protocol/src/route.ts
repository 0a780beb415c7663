import type { z } from 'zod';
import type { Scope } from './resources/api-keys.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One HTTP route of the `/v1` API, shared by the server (validation, OpenAPI) and the SDK
 * (typed calls, response validation). `path` uses OpenAPI `{param}` templates.
 */
export interface RouteDefinition<
  Params extends z.ZodType = z.ZodType,
  Query extends z.ZodType = z.ZodType,
  Body extends z.ZodType = z.ZodType,
  Response extends z.ZodType = z.ZodType,
> {
  operationId: string;
  method: HttpMethod;
  path: string;
  /**
   * The scope an API key needs; a list when any one of several will do (`['read', 'run']`: what
   * following a run takes); `null` for unauthenticated routes. `admin` always will.
   */
  scope: Scope | readonly Scope[] | null;
  tag: string;
  summary: string;
  params?: Params;
  query?: Query;
  body?: Body;
  /** Schema of a successful response body; `null` when the route answers 204 without a body. */
  response: Response | null;
  status: 200 | 201 | 202 | 204;
  /** Other success statuses with the same body shape (e.g. PUT upsert: 200 or 201). */
  alternativeStatuses?: readonly (200 | 201 | 202)[];
  /** Whether the route honours `If-Match` against an ETag. */
  conditional?: boolean;
  /** The route answers `text/event-stream` (always, or when the body asks for `mode: stream`). */
  streaming?: 'always' | 'on-request';
  /**
   * The route answers raw bytes with the stored resource's own Content-Type (not JSON); `response`
   * is then `artifactContentSchema`.
   */
  binary?: true;
}

/** The scopes any one of which lets a key call a route (`admin` besides). */
export function acceptedScopes(scope: Scope | readonly Scope[]): readonly Scope[] {
  return typeof scope === 'string' ? [scope] : scope;
}

/** `'read'`, or `'read' or 'run'`: how messages name the scopes a route accepts. */
export function describeScopes(scope: Scope | readonly Scope[]): string {
  return acceptedScopes(scope)
    .map((each) => `'${each}'`)
    .join(' or ');
}

export function defineRoute<
  Params extends z.ZodType = z.ZodNever,
  Query extends z.ZodType = z.ZodNever,
  Body extends z.ZodType = z.ZodNever,
  Response extends z.ZodType = z.ZodNever,
>(route: RouteDefinition<Params, Query, Body, Response>): RouteDefinition<Params, Query, Body, Response> {
  return route;
}

export type ParamsOf<R> =
  R extends RouteDefinition<infer P, z.ZodType, z.ZodType, z.ZodType> ? z.output<P> : never;
export type QueryOf<R> =
  R extends RouteDefinition<z.ZodType, infer Q, z.ZodType, z.ZodType> ? z.output<Q> : never;
export type BodyOf<R> =
  R extends RouteDefinition<z.ZodType, z.ZodType, infer B, z.ZodType> ? z.output<B> : never;
export type ResponseOf<R> =
  R extends RouteDefinition<z.ZodType, z.ZodType, z.ZodType, infer S> ? z.output<S> : never;
export type QueryInputOf<R> =
  R extends RouteDefinition<z.ZodType, infer Q, z.ZodType, z.ZodType> ? z.input<Q> : never;
export type BodyInputOf<R> =
  R extends RouteDefinition<z.ZodType, z.ZodType, infer B, z.ZodType> ? z.input<B> : never;
