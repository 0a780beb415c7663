import Fastify, { type FastifyInstance } from 'fastify';

/**
 * The floor: bare Fastify, no auth, validation, database or logging, with the same pair of routes
 * the benchmark drives on Runyard (create a JSON resource, read it back by slug).
 */
export async function startFloorServer(): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ logger: false });
  const items = new Map<string, Record<string, unknown>>();
  app.post<{ Body: Record<string, unknown> & { slug: string } }>('/v1/agents', async (request, reply) => {
    const item = { id: `agent_${items.size + 1}`, ...request.body, createdAt: new Date().toISOString() };
    items.set(request.body.slug, item);
    return reply.code(201).send(item);
  });
  app.get<{ Params: { slug: string } }>('/v1/agents/:slug', async (request, reply) => {
    const item = items.get(request.params.slug);
    return item === undefined ? reply.code(404).send({ error: 'not found' }) : item;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the floor server has no port');
  return { url: `http://127.0.0.1:${address.port}`, app };
}
