// The dashboard: packages/web/dist (built by `npm run build`) served at `/`,
// public like any static site (the data behind it needs a token). One
// catch-all GET route, registered after every other route, so anything more
// specific wins; it never answers for /api/*, /metrics or /health, which keep
// their JSON 404s (the request still passed the auth hook first, so an
// anonymous caller learns nothing about which API paths exist).
//
// Existing files are sent as they are: hashed build output under /assets/
// with a one-year immutable cache, everything else (index.html, favicon)
// with `no-cache` so a redeploy shows at once. Any other path is a
// client-side route and gets index.html (history-mode routing); a missing
// /assets/ file is a 404, since answering HTML for a stale chunk only hides
// the error. When the build is missing, non-API paths get a 503 saying how to
// build it, and the check is repeated per request so building while the
// backend runs is enough.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { isGuardedPath } from '../policy.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** packages/web/dist, found through the workspace link so it works from src/ and dist/ alike. */
export function defaultWebDist(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@kanade/web/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export const spaRoutes: FastifyPluginAsync<{ distDir?: string }> = async (app, opts) => {
  const dist = opts.distDir ?? defaultWebDist();
  const root = dist ? resolve(dist) : undefined;
  if (root) await app.register(fastifyStatic, { root, serve: false });

  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split('?', 1)[0]!;
    if (isGuardedPath(path) || path === '/health') {
      reply.callNotFound();
      return reply;
    }
    if (!root || !isFile(join(root, 'index.html'))) {
      reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store');
      return `The kanade dashboard is not built (no ${root ? join(root, 'index.html') : 'packages/web'}). Run \`npm run build\` in the repository, then reload.\n`;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(path).replace(/^\/+/, '');
    } catch {
      rel = '';
    }
    const file = resolve(root, rel);
    if (rel && file.startsWith(root + sep) && isFile(file)) {
      reply.header('cache-control', rel.startsWith('assets/') ? IMMUTABLE : 'no-cache');
      return reply.sendFile(file.slice(root.length + 1), { cacheControl: false });
    }
    if (rel.startsWith('assets/')) {
      reply.code(404).type('text/plain; charset=utf-8');
      return `no such dashboard asset: /${rel}\n`;
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', { cacheControl: false });
  });
};
