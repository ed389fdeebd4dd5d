/** The pages' static handler: built pages, right content types, nothing outside the build folder. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendError } from '../../src/server/http-api.js';
import { webHandler } from '../../src/server/web.js';
import { ROOT } from '../helpers/fixtures.js';

let http: Server;
let base: string;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gs-web-'));
  const { buildWeb } = (await import(join(ROOT, 'scripts', 'build-web.mjs'))) as { buildWeb(o: { outdir: string }): Promise<unknown> };
  await buildWeb({ outdir: join(root, 'public') });
  await writeFile(join(root, 'secret.txt'), 'not for you');
  const handle = webHandler({ root: join(root, 'public') });
  http = createServer((req, res) => {
    void (async () => {
      try {
        if (!(await handle(req, res, new URL(req.url ?? '/', 'http://x')))) res.writeHead(404).end();
      } catch (e) {
        sendError(res, e); // as the server answers what a handler throws
      }
    })();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => http.close(() => r())));

/** A raw request, so that the path reaches the server exactly as written (fetch would normalise it). */
async function raw(path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; allow?: string | undefined; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { method, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], allow: res.headers.allow, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web pages handler', () => {
  it('serves the viewer at / and the overlay at /overlay, with a same-origin-only policy', async () => {
    const viewer = await fetch(`${base}/`);
    expect(viewer.status).toBe(200);
    expect(viewer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = viewer.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'self'");
    // WebSockets to this server only (by the host the page was asked from), not to any host
    const host = new URL(base).host;
    expect(policy).toContain(`connect-src 'self' ws://${host} wss://${host};`);
    expect(policy).not.toMatch(/ wss?:[ ;]/);
    expect(await viewer.text()).toContain('assets/viewer.js');
    const overlay = await fetch(`${base}/overlay?stream=demo&q=red+circle`);
    expect(await overlay.text()).toContain('assets/overlay.js');
    // with a trailing slash: redirected to the page, the query kept
    const slash = await fetch(`${base}/overlay/?stream=demo&q=red+circle`, { redirect: 'manual' });
    expect([slash.status, slash.headers.get('location')]).toEqual([308, '../overlay?stream=demo&q=red+circle']);
    const followed = await fetch(`${base}/overlay/?stream=demo`);
    expect([followed.status, followed.url]).toEqual([200, `${base}/overlay?stream=demo`]);
  });

  it('serves the bundles and styles with their content types, and HEAD without a body', async () => {
    const js = await fetch(`${base}/assets/overlay.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const code = await js.text();
    // self-contained: no imports left to fetch, from a CDN or anywhere else
    expect(code).not.toMatch(/\bfrom\s*["']|https?:\/\/(?!localhost)[a-z]/i);
    expect((await fetch(`${base}/assets/viewer.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${base}/assets/viewer.js.map`)).headers.get('content-type')).toBe('application/json; charset=utf-8');
    const head = await raw('/assets/viewer.js', 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
  });

  it('serves nothing outside the build folder', async () => {
    for (const path of ['/assets/../secret.txt', '/assets/..%2Fsecret.txt', '/assets/%2e%2e/secret.txt', '/../secret.txt', '/secret.txt', '/assets/', '/assets/nope.js', '/assets/.hidden', '/assets/a/../../secret.txt']) {
      const r = await raw(path);
      expect(r.status, path).toBe(404);
      expect(r.body).not.toContain('not for you');
    }
    // the pages may only be read: another method on them is 405, and elsewhere still nothing
    for (const path of ['/', '/overlay', '/assets/viewer.js']) {
      const r = await raw(path, 'POST');
      expect([r.status, JSON.parse(r.body).code, r.allow], path).toEqual([405, 'HTTP_METHOD_NOT_ALLOWED', 'GET, HEAD']);
    }
    expect((await raw('/secret.txt', 'POST')).status).toBe(404);
  });
});
