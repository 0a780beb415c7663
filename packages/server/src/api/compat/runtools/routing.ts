import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../../core/caller.ts';
import { compatRouteBinder, type CompatResult } from '../compat-routes.ts';
import { runtoolsSurface } from './runtools-surface.ts';

export interface RouteContext {
  caller: Caller;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** A JSON body to send, or the reply that the handler answered itself (a stream). */
export type RouteResult = CompatResult;

/**
 * Binds one operation of runtools-surface.ts to its handler through the compat route builder
 * (X-API-Key or Bearer, the operation's scope, then the handler).
 */
export const addRoute = compatRouteBinder(runtoolsSurface, async () => ({}));
