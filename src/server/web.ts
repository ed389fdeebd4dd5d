/**
 * The pages: the viewer at `/`, the overlay at `/overlay`, and their assets under `/assets/`, from
 * the folder `npm run build:web` writes (dist/web/public). Only files that are there are served:
 * asset names are one path segment of safe characters, so no path can leave the folder.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GroundstreamError } from '../errors.js';
import { notAllowed, type Handler } from './http-api.js';

export interface WebOptions {
  /**
   * Folder of the built pages. Default: dist/web/public next to this module (from dist/) or under
   * the package root (when run from src/ by a test runner).
   */
  root?: string;
}

const PAGES: Readonly<Record<string, string>> = Object.freeze({ '/': 'index.html', '/overlay': 'overlay.html', '/overlay.html': 'overlay.html' });
const ASSET = /^\/assets\/([A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9]+)+)$/;
const TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
});
/** A Host header fit to be written into the policy: a name or address, and a port. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The pages load nothing from elsewhere, and talk only to this server's WebSocket: named by the
 * host the page was asked from (so a proxy's public name works), since older browsers do not let
 * 'self' cover ws: and wss:. */
function pagePolicy(host: string | undefined): string {
  const ws = host && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'${ws}; base-uri 'none'; form-action 'self'; frame-ancestors *`;
}

export function defaultWebRoot(): string {
  const beside = fileURLToPath(new URL('../web/public', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../dist/web/public', import.meta.url));
}

export function webHandler(options: WebOptions = {}): Handler {
  const root = options.root ?? defaultWebRoot();
  return async (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // the pages exist, but only to be read
      if (PAGES[url.pathname] || url.pathname === '/overlay/' || ASSET.test(url.pathname)) throw notAllowed(res, 'GET, HEAD', new GroundstreamError('HTTP_METHOD_NOT_ALLOWED', `${req.method} ${url.pathname}`));
      return false;
    }
    if (url.pathname === '/overlay/') {
      // a common way to type it (and to paste it into OBS): send it to the page, query kept
      // relative, like the pages' own links, so that it works behind a proxy's path prefix too
      res.writeHead(308, { location: `../overlay${url.search}` });
      res.end();
      return true;
    }
    const page = PAGES[url.pathname];
    const asset = page ? undefined : ASSET.exec(url.pathname)?.[1];
    if (!page && !asset) return false;
    const file = page ? join(root, page) : join(root, 'assets', asset!);
    const type = TYPES[extname(file)];
    if (!type) return false;
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      if (!page) return false;
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('groundstream: the web pages are not built; run `npm run build:web`.\n');
      return true;
    }
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      // no content hashes in the names, so ask every time (cheap on a local server)
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(page ? { 'content-security-policy': pagePolicy(req.headers.host), 'referrer-policy': 'no-referrer' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
