import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { NextFunction, Request, Response } from 'express';
import { wantsGzip } from '../content-coding';

/** Where `npm run build` writes the dashboard's bundle (apps/ui/build.mjs): dist/ui. */
export function uiDirCandidates(): string[] {
  return [path.resolve(__dirname, '../../../../ui'), path.resolve(process.cwd(), 'dist/ui')];
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer | null;
  readonly type: string;
  readonly etag: string;
  /** Its name carries a content hash: cached for good. */
  readonly immutable: boolean;
}

/**
 * Only what the bundle needs: its own scripts, styles and images, and requests to the API of
 * the same origin. No inline script, nothing from elsewhere (the token is kept in the tab's
 * session storage, so a script injected into the page is what must never run).
 */
export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = path.join(dir, rel);
      if (statSync(full).isDirectory()) {
        walk(rel);
        continue;
      }
      const ext = path.extname(name);
      const type = TYPES[ext];
      if (!type) continue;
      const body = readFileSync(full);
      const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
      assets.set(rel, {
        body,
        gzip: compressible ? gzipSync(body, { level: 9 }) : null,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: /-[A-Z0-9]{8,}\.[a-z]+$/.test(name),
      });
    }
  };
  walk('');
  return assets;
}

function send(req: Request, res: Response, asset: Asset): void {
  res.setHeader('Content-Type', asset.type);
  res.setHeader('ETag', asset.etag);
  res.setHeader('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Vary', 'Accept-Encoding');
  if (req.headers['if-none-match'] === asset.etag) {
    res.status(304).end();
    return;
  }
  const gzip = asset.gzip && wantsGzip(req);
  if (gzip) res.setHeader('Content-Encoding', 'gzip');
  res.status(200).end(req.method === 'HEAD' ? undefined : gzip ? asset.gzip : asset.body);
}

const LANDING = (ui: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fleetcompat</title></head>
<body><main><h1>fleetcompat</h1>
<p>RSDP placement decisions for the Xen PVH guests of a fleet.</p>
<ul>
<li><a href="/ui/">Planner's dashboard</a>${ui ? '' : ' (not built: run <code>npm run build</code>)'}: fleet, waves, guests that need attention, what-if</li>
<li><a href="/docs">API documentation</a> (OpenAPI at <a href="/openapi.json">/openapi.json</a>)</li>
<li><a href="/health/ready">Readiness</a> and <a href="/metrics">metrics</a></li>
</ul></main></body></html>
`;

/**
 * Serves the planner's dashboard at /ui/ (the bundle `npm run build` writes to dist/ui, held
 * in memory, gzip when asked) and a page at / that links it and the API docs. Mounted on the
 * Express instance before Nest's routes, like the probes: the files need no token (the pages
 * ask for one and send it to the API, which checks it as for every client).
 */
/** The part of an Express app this needs. */
interface RouteTable {
  get(path: string, handler: (req: Request, res: Response, next: NextFunction) => unknown): unknown;
}

export function serveUi(
  express: RouteTable,
  dir: string | undefined = uiDirCandidates().find((d) => existsSync(path.join(d, 'index.html'))),
): { dir: string | null } {
  const assets = dir ? loadAssets(dir) : new Map<string, Asset>();
  const index = assets.get('index.html');
  const pageHeaders = (res: Response) => {
    res.setHeader('Content-Security-Policy', UI_CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
  };
  express.get('/', (_req: Request, res: Response) => {
    pageHeaders(res);
    res.status(200).type('text/html; charset=utf-8').setHeader('Cache-Control', 'no-cache');
    res.end(LANDING(Boolean(index)));
  });
  // Express matches /ui and /ui/ alike (non-strict routing): the page is served at /ui/ only, so that its relative links resolve under it.
  express.get('/ui/', (req: Request, res: Response) => {
    if (!req.originalUrl.split('?')[0].endsWith('/')) return res.redirect(301, '/ui/');
    pageHeaders(res);
    if (!index) {
      res
        .status(503)
        .type('text/plain; charset=utf-8')
        .end('The dashboard was not built: run `npm run build` (it bundles apps/ui into dist/ui).\n');
      return;
    }
    send(req, res, index);
  });
  express.get('/ui/assets/:name', (req: Request, res: Response, next: NextFunction) => {
    const asset = assets.get(`assets/${String(req.params.name)}`);
    if (!asset) return next();
    pageHeaders(res);
    send(req, res, asset);
  });
  return { dir: index ? dir! : null };
}
