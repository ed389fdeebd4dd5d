/** client.streams: the HTTP stream API through the SDK, against the real server (real model, real
 * sockets, a real pushed JPEG). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionLostError, GroundstreamClient, RemoteError, isGroundstreamError, type DetectionsMessage, type GroundstreamError } from '../../src/client/index.js';
import { resolveConfig } from '../../src/config/config.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { GroundstreamServer } from '../../src/server/server.js';
import { apiBase, type StreamSpec } from '../../src/client/streams-api.js';
import { STREAM_SPEC_KEYS } from '../../src/config/config.js';
import { FIXTURES } from '../helpers/fixtures.js';

const ADMIN = 'admin-token-0123456789';
const VIEWER = 'viewer-token-0123456789';

let model: GroundingModel;
let server: GroundstreamServer;
let base: string;
beforeAll(async () => {
  model = await loadModel(BUNDLED_MODEL_DIR);
  server = new GroundstreamServer({
    config: resolveConfig({ port: 0, tokens: [{ token: ADMIN, rights: ['watch', 'push', 'manage'] }, { token: VIEWER, rights: ['watch'] }] }),
    model,
    fileRoots: [FIXTURES],
  });
  base = await server.listen();
});
afterAll(async () => {
  await server?.close();
  await model?.close();
});

async function refusal(p: Promise<unknown>): Promise<{ code: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RemoteError) return { code: e.code, status: e.status };
    if (isGroundstreamError(e)) return { code: e.code };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('client.streams', () => {
  it('adds a push stream, pushes to it and gets detections, lists it, removes it: one client, one address, one token', async () => {
    let asked = 0;
    const client = new GroundstreamClient({ url: base, token: () => (asked++, ADMIN) });
    try {
      // the API works before any WebSocket connection
      expect(await client.streams.add({ id: 'phone', source: 'push' })).toEqual({ id: 'phone', state: 'connecting' });
      expect(asked).toBe(1);
      await client.connect();
      const sub = client.subscribe({ stream: 'phone', queries: ['purple cross'] });
      const got = new Promise<DetectionsMessage>((resolve) => sub.detections$.subscribe(resolve));
      await sub.accepted;
      expect(client.pushFrame('phone', readFileSync(join(FIXTURES, 'stills', 'still01-640x360.jpg')))).toBe(true);
      // the still's purple cross (truth: [111.64, 214.48, 214.06, 316.9]), found in source pixels
      const result = await got;
      expect(result.frame).toMatchObject({ width: 640, height: 360 });
      expect(result.detections).toHaveLength(1);
      result.detections[0]!.box.forEach((v, i) => expect(Math.abs(v - [111.64, 214.48, 214.06, 316.9][i]!)).toBeLessThan(12));
      const listed = await client.streams.list();
      const phone = listed.find((s) => s.id === 'phone');
      expect(phone).toMatchObject({ id: 'phone', source: 'push', state: 'live', subscribers: 1 });
      expect(phone!.stats.framesProcessed).toBeGreaterThanOrEqual(1);
      expect(await client.streams.get('phone')).toMatchObject({ id: 'phone', width: 640, height: 360 });
      const ended = new Promise<string>((resolve) => sub.detections$.subscribe({ complete: () => resolve('completed'), error: (e) => resolve(String(e)) }));
      await client.streams.remove('phone');
      await ended;
      expect((await client.streams.list()).map((s) => s.id)).not.toContain('phone');
    } finally {
      client.close();
    }
  });

  it("gives the server's refusals as RemoteError with its code and HTTP status", async () => {
    const admin = new GroundstreamClient({ url: base.replace('http', 'ws'), token: ADMIN });
    const viewer = new GroundstreamClient({ url: base, token: VIEWER });
    const nobody = new GroundstreamClient({ url: base });
    try {
      await admin.streams.add({ id: 'twice', source: 'push' });
      expect(await refusal(admin.streams.add({ id: 'twice', source: 'push' }))).toEqual({ code: 'STREAM_EXISTS', status: 409 });
      expect(await refusal(admin.streams.add({ id: 'x', source: '/etc/passwd' }))).toEqual({ code: 'INGEST_PATH_REFUSED', status: 403 });
      expect(await refusal(admin.streams.add({ id: 'x', source: 'push', loop: true }))).toEqual({ code: 'HTTP_BAD_REQUEST', status: 400 });
      expect(await refusal(admin.streams.get('nosuch'))).toEqual({ code: 'PROTOCOL_STREAM_UNKNOWN', status: 404 });
      expect(await refusal(viewer.streams.remove('twice'))).toEqual({ code: 'AUTH_FORBIDDEN', status: 403 });
      expect(await refusal(nobody.streams.list())).toEqual({ code: 'AUTH_REQUIRED', status: 401 });
      expect((await viewer.streams.list()).map((s) => s.id)).toContain('twice');
      await admin.streams.remove('twice');
    } finally {
      for (const c of [admin, viewer, nobody]) c.close();
    }
  });

  it('finds the API under the same path prefix as the WebSocket (a proxy that mounts the server at /gs/), and refuses ids that are not ids without asking', async () => {
    expect(apiBase('ws://h:1/gs/v1/ws')).toBe('http://h:1/gs');
    expect(apiBase('wss://example.com/v1/ws?x=1')).toBe('https://example.com');
    expect(apiBase('ws://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    // through a real proxy that serves the server under /gs/ and nothing at /
    const { createServer, request } = await import('node:http');
    const seen: string[] = [];
    const upstream = new URL(base);
    const proxy = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (!req.url!.startsWith('/gs/')) return void res.writeHead(404).end();
      const fwd = request({ host: upstream.hostname, port: upstream.port, path: req.url!.slice(3), method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      });
      req.pipe(fwd);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const client = new GroundstreamClient({ url: `ws://127.0.0.1:${(proxy.address() as { port: number }).port}/gs/v1/ws`, token: VIEWER });
    try {
      expect(Array.isArray(await client.streams.list())).toBe(true);
      expect(seen).toEqual(['GET /gs/v1/streams']);
      for (const id of ['..', '.', 'a/b', '']) expect(await refusal(client.streams.get(id)), id).toEqual({ code: 'PROTOCOL_STREAM_UNKNOWN' });
      expect(seen).toHaveLength(1); // none of those was sent
    } finally {
      client.close();
      await new Promise((r) => proxy.close(r));
    }
  });

  it("types every field the server's stream API takes (STREAM_SPEC_KEYS)", () => {
    const every: Required<StreamSpec> = { id: 'a', source: 'rtsp://cam/x', realtime: true, loop: false, live: true, onDemand: true, rtspTransport: 'udp' };
    expect(Object.keys(every).sort()).toEqual([...STREAM_SPEC_KEYS].sort());
  });

  it('says CLIENT_HTTP_FAILED when nothing answers', async () => {
    const port = new URL(base).port;
    const gone = new GroundstreamClient({ url: `ws://127.0.0.1:1/v1/ws` });
    expect(port).not.toBe('1');
    expect(await refusal(gone.streams.list())).toEqual({ code: 'CLIENT_HTTP_FAILED' });
    gone.close();
  });
});

describe('a connection the server refuses for now (1013)', () => {
  it("is said on errors$ with the server's reason while the client retries, and in the error that ends the retries", async () => {
    const capped = new GroundstreamServer({ config: resolveConfig({ port: 0, tokens: [{ token: VIEWER, rights: ['watch'], maxClients: 1 }] }), model, fileRoots: [FIXTURES] });
    const url = (await capped.listen()).replace('http', 'ws');
    const first = new GroundstreamClient({ url, token: VIEWER });
    const second = new GroundstreamClient({ url, token: VIEWER, reconnect: { initialMs: 20, maxMs: 20, maxAttempts: 2 } });
    try {
      await first.connect();
      const said: Error[] = [];
      second.errors$.subscribe((e) => said.push(e));
      const ended = await second.connect().then(() => undefined, (e: unknown) => e as GroundstreamError);
      expect(said[0]).toBeInstanceOf(ConnectionLostError);
      expect(said[0]).toMatchObject({ code: 'CLIENT_CONNECTION_LOST', closeCode: 1013, closeReason: expect.stringContaining('at most 1 clients with token') });
      expect(ended).toMatchObject({ code: 'CLIENT_RECONNECT_EXHAUSTED', message: expect.stringContaining('close code 1013 (at most 1 clients with token') });
    } finally {
      first.close();
      second.close();
      await capped.close();
    }
  });
});
