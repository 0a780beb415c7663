import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);

/** Browsable API docs at /docs, served entirely from this process (no CDN): Swagger UI over /openapi.json. */
export function registerDocsPage(app: FastifyInstance): void {
  const assetsDirectory = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const assets: Record<string, string> = {
    'swagger-ui.css': 'text/css; charset=utf-8',
    'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
    'favicon-32x32.png': 'image/png',
  };
  const cache = new Map<string, Buffer>();

  app.get('/docs', (_request, reply) => {
    void reply.type('text/html; charset=utf-8').send(page);
  });
  // People type the folder form too; the page's asset links are absolute, so either URL works.
  app.get('/docs/', (_request, reply) => reply.redirect('/docs', 301));
  app.get<{ Params: { asset: string } }>('/docs/assets/:asset', (request, reply) => {
    const type = assets[request.params.asset];
    if (type === undefined) return reply.callNotFound();
    let body = cache.get(request.params.asset);
    if (body === undefined) {
      body = fs.readFileSync(path.join(assetsDirectory, request.params.asset));
      cache.set(request.params.asset, body);
    }
    return reply.type(type).header('cache-control', 'public, max-age=3600').send(body);
  });
}

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Runyard API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="docs"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true });
</script>
</body>
</html>`;
