/** Auth, limits, metrics and graceful shutdown of the real server over real sockets. */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import WebSocket from 'ws';
import { resolveConfig } from '../../src/config/config.js';
import { GroundstreamError, isGroundstreamError } from '../../src/errors.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { clientSubprotocols, encodeFrame } from '../../src/protocol/index.js';
import { defaultSourceFactory, GroundstreamServer, remoteKey } from '../../src/server/server.js';
import type { FfmpegSource } from '../../src/ingest/ffmpeg-source.js';
import { FIXTURES, ROOT } from '../helpers/fixtures.js';
import { TestClient } from '../helpers/ws-client.js';
import { until } from '../client/fake-server.js';

const ADMIN = 'admin-token-0123456789';
const VIEWER = 'viewer-token-0123456789';

let model: GroundingModel;
beforeAll(async () => {
  model = await loadModel(BUNDLED_MODEL_DIR);
});
afterAll(() => model?.close());

/** The real model, with `before` run ahead of each prepareQueries (to fail or hold it), and a
 * close() that leaves the shared model open. */
function withPrepare(before: (queries: readonly string[]) => Promise<void>): GroundingModel {
  return {
    info: model.info,
    prepareQueries: async (q) => {
      await before(q);
      return model.prepareQueries(q);
    },
    detect: (...a) => model.detect(...a),
    workingSize: (w, h) => model.workingSize(w, h),
    close: async () => {},
  };
}

async function start(extra: Parameters<typeof resolveConfig>[0]) {
  const server = new GroundstreamServer({ config: resolveConfig({ port: 0, ...extra }), model, fileRoots: [FIXTURES] });
  const base = await server.listen();
  return { server, base, ws: `${base.replace('http', 'ws')}/v1/ws` };
}

/** POST /v1/streams with `spec` as JSON. */
function addStream(base: string, spec: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(spec) });
}

/** Opens a socket and resolves with the close code if the server closes it before hello. */
function closeCode(url: string, protocols?: string[], headers?: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, { headers });
    ws.on('message', () => {});
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => {});
  });
}

/** Sends raw bytes to the server and resolves with what comes back until it closes (or 1 s). */
function rawHttp(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(request));
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', () => {});
    const done = () => resolve(got);
    sock.on('close', done);
    setTimeout(() => sock.destroy(), 1000);
  });
}

/** One HTTP request with exactly these headers (fetch would set its own Host and leave out Origin). */
function httpRequest(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const r = request(`${base}${path}`, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

describe('a server without tokens (loopback) and web pages from elsewhere', () => {
  it("refuses other sites' pages (WebSocket and API), names rebound to 127.0.0.1, and requests through a proxy; serves its own pages, local ones and non-browsers", async () => {
    const { server, base, ws } = await start({});
    try {
      const port = new URL(base).port;
      const origin = (o: string) => closeCode(ws, clientSubprotocols(), { origin: o });
      // a page on another site: a cross-site WebSocket would have watched every stream
      expect(await origin('http://evil.test:18460')).toBe(4003);
      expect(await origin('null')).toBe(4003);
      // the server's own pages, and pages served from this machine (a dev server), connect
      for (const o of [`http://127.0.0.1:${port}`, 'http://localhost:5173']) {
        const c = await TestClient.open(ws, { headers: { origin: o } });
        expect(c.messages[0].type).toBe('hello');
        await c.close();
      }
      // the API: a form POST from another site would have added a stream
      const spec = JSON.stringify({ id: 'csrf', source: 'push' });
      expect(await httpRequest(base, 'POST', '/v1/streams', { origin: 'http://evil.test', 'content-type': 'text/plain' }, spec)).toMatchObject({ status: 403, json: { code: 'AUTH_FORBIDDEN' } });
      // DNS rebinding: the attacker's name now points at 127.0.0.1, the browser sends it as Host
      expect(await httpRequest(base, 'GET', '/v1/streams', { host: `attacker.example:${port}` })).toMatchObject({ status: 403, json: { code: 'AUTH_FORBIDDEN' } });
      expect(await httpRequest(base, 'GET', '/metrics', { host: `attacker.example:${port}` })).toMatchObject({ status: 403 });
      // a reverse proxy in front of a tokenless server would serve everyone behind it
      expect(await httpRequest(base, 'GET', '/v1/streams', { 'x-forwarded-for': '203.0.113.9' })).toMatchObject({ status: 403, json: { message: expect.stringContaining('proxy') } });
      // a name that merely starts like a loopback address is a name
      expect(await origin('http://127.0.0.1.attacker.example')).toBe(4003);
      expect(await httpRequest(base, 'GET', '/v1/streams', { host: `127.0.0.1.attacker.example:${port}` })).toMatchObject({ status: 403 });
      expect(await httpRequest(base, 'GET', '/v1/streams', { 'x-real-ip': '203.0.113.9' })).toMatchObject({ status: 403 });
      expect(await httpRequest(base, 'GET', '/v1/streams', { via: '1.1 proxy' })).toMatchObject({ status: 403 });
      // a development proxy on this machine says so, and is this machine
      expect((await httpRequest(base, 'GET', '/v1/streams', { 'x-forwarded-for': '127.0.0.1' })).status).toBe(200);
      // curl and the SDK on this machine, as before
      expect((await httpRequest(base, 'GET', '/v1/streams', { host: `localhost:${port}` })).status).toBe(200);
      expect((await httpRequest(base, 'POST', '/v1/streams', { 'content-type': 'application/json' }, spec)).status).toBe(201);
      expect((await httpRequest(base, 'GET', '/healthz', { host: `attacker.example:${port}` })).json).toEqual({ status: 'ok' }); // alive, no more
    } finally {
      await server.close();
    }
  });

  it('refuses a rebound name on a loopback server that is open by choice (requireAuth false) too', async () => {
    const { server, base, ws } = await start({ requireAuth: false });
    try {
      const port = new URL(base).port;
      expect(await httpRequest(base, 'GET', '/v1/streams', { host: `evil.test:${port}` })).toMatchObject({ status: 403 });
      expect(await closeCode(ws, clientSubprotocols(), { origin: `http://evil.test:${port}`, host: `evil.test:${port}` })).toBe(4003);
      expect((await httpRequest(base, 'GET', '/v1/streams')).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('keeps camera credentials out of what watchers see, and does not tell which files exist outside the allowed directories', async () => {
    const { server, base } = await start({ tokens: [{ token: ADMIN, rights: ['watch', 'manage'] }, { token: VIEWER, rights: ['watch'] }] });
    try {
      const admin = { authorization: `Bearer ${ADMIN}` };
      // a camera that takes its password in the query (nothing listens there: it fails)
      expect((await addStream(base, { id: 'cam', source: 'http://127.0.0.1:1/video.cgi?user=admin&pwd=S3cret' }, admin)).status).toBe(201);
      let seen = '';
      await until(async () => {
        seen = JSON.stringify(await (await fetch(`${base}/v1/streams/cam`, { headers: { authorization: `bearer ${VIEWER}` } })).json()); // (the scheme in any case)
        return seen.includes('"error"');
      }, 30_000, 'the failed camera');
      expect(seen).toContain('pwd=***');
      expect(seen).not.toContain('S3cret');
      // a file outside the allowed directories: refused alike, there or not
      for (const path of ['/etc/passwd', '/etc/no-such-file-here']) {
        expect((await (await addStream(base, { id: 'f', source: path }, admin)).json()).code, path).toBe('INGEST_PATH_REFUSED');
      }
      // the cloud's metadata service: refused with 403 when the stream is added, nothing opened
      const metadata = await addStream(base, { id: 'meta', source: 'http://169.254.169.254/latest/meta-data/' }, admin);
      expect([metadata.status, (await metadata.json()).code]).toEqual([403, 'INGEST_DESTINATION_REFUSED']);
      // /healthz: a probe without a token learns that the server is up, not its streams
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
      expect(await (await fetch(`${base}/healthz`, { headers: admin })).json()).toMatchObject({ status: 'ok', streams: [{ id: 'cam' }] });
    } finally {
      await server.close();
    }
  });
});

describe('auth', () => {
  it('refuses to start beyond loopback without tokens', () => {
    try {
      new GroundstreamServer({ config: resolveConfig({ port: 0, host: '0.0.0.0' }), model });
      throw new Error('started');
    } catch (e) {
      expect(isGroundstreamError(e, 'CONFIG_INVALID')).toBe(true);
    }
  });

  it('tells a client that speaks another protocol version why it is refused (4010), and picks v1 when offered', async () => {
    const { server, ws } = await start({});
    try {
      expect(await closeCode(ws, ['groundstream.v2'])).toBe(4010);
      const both = new WebSocket(ws, ['groundstream.v2', 'groundstream.v1']);
      await new Promise((r) => both.once('open', r));
      expect(both.protocol).toBe('groundstream.v1');
      both.close();
    } finally {
      await server.close();
    }
  });

  it('checks a token that is given on loopback too, and leaves a token-less loopback server open', async () => {
    const withToken = await start({ tokens: [{ token: ADMIN, rights: ['watch', 'push', 'manage'] }] });
    const open = await start({});
    try {
      expect((await fetch(`${withToken.base}/v1/streams`)).status).toBe(401);
      expect((await fetch(`${withToken.base}/v1/streams`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
      expect((await fetch(`${open.base}/v1/streams`)).status).toBe(200);
    } finally {
      await withToken.server.close();
      await open.server.close();
    }
  });

  it('checks tokens and rights on the WebSocket and the HTTP API', async () => {
    const { server, base, ws } = await start({
      requireAuth: true,
      tokens: [
        { token: ADMIN, rights: ['watch', 'push', 'manage'] },
        { token: VIEWER, rights: ['watch'] },
        { token: 'pusher-token-0123456789', rights: ['push'] },
      ],
      allowedOrigins: ['https://studio.example'],
    });
    try {
      expect(await closeCode(ws)).toBe(4001);
      expect(await closeCode(ws, clientSubprotocols('wrong-token-0123456789'))).toBe(4001);
      expect(await closeCode(ws, clientSubprotocols(VIEWER), { origin: 'https://evil.example' })).toBe(4003);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const unauthorized = await fetch(`${base}/v1/streams`);
      expect([unauthorized.status, unauthorized.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="groundstream"']);
      const wrongMethod = await fetch(`${base}/v1/streams`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}` } });
      expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'GET, HEAD, POST']);
      const metricsPost = await fetch(`${base}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
      expect([metricsPost.status, metricsPost.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
      // HEAD reads as GET does, with the same right
      expect((await fetch(`${base}/v1/streams`, { method: 'HEAD', headers: { authorization: `Bearer ${VIEWER}` } })).status).toBe(200);
      expect((await fetch(`${base}/metrics`, { method: 'HEAD', headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
      expect((await fetch(`${base}/v1/streams`, { headers: { authorization: `Bearer ${VIEWER}` } })).status).toBe(200);
      const post = (token: string) =>
        addStream(base, { id: 'p', source: 'push' }, { authorization: `Bearer ${token}` });
      expect((await (await post(VIEWER)).json()).code).toBe('AUTH_FORBIDDEN');
      expect((await post(ADMIN)).status).toBe(201);
      // metrics are for watchers (a Prometheus scraper's token need not be able to add streams)
      expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${VIEWER}` } })).status).toBe(200);
      expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer pusher-token-0123456789' } })).status).toBe(403);
      // a watch-only client may subscribe but not push
      const sock = new WebSocket(ws, clientSubprotocols(VIEWER), { headers: { origin: 'https://studio.example' } });
      const msgs: any[] = [];
      sock.on('message', (d) => msgs.push(JSON.parse(String(d))));
      await new Promise((r) => sock.once('open', r));
      expect(sock.protocol).toBe('groundstream.v1');
      sock.send(encodeFrame({ stream: 'p', seq: 1, capturedAt: Date.now(), format: 'jpeg' }, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0])));
      sock.send(JSON.stringify({ type: 'subscribe', id: 'a', stream: 'p', queries: ['circle'] }));
      await new Promise((r) => setTimeout(r, 300));
      expect(msgs.find((m) => m.type === 'error')?.code).toBe('AUTH_FORBIDDEN');
      expect(msgs.find((m) => m.type === 'subscribed')?.id).toBe('a');
      sock.close();
    } finally {
      await server.close();
    }
  });
});

describe('limits', () => {
  it('shows a push-only token no streams: none in hello, no status messages', async () => {
    const PUSHER = 'pusher-token-0123456789';
    const { server, base, ws } = await start({ tokens: [{ token: ADMIN, rights: ['watch', 'push', 'manage'] }, { token: PUSHER, rights: ['push'] }] });
    try {
      const admin = { authorization: `Bearer ${ADMIN}` };
      expect((await addStream(base, { id: 'phone', source: 'push' }, admin)).status).toBe(201);
      const open = async (token: string) => {
        const sock = new WebSocket(ws, clientSubprotocols(token));
        const msgs: { type: string; streams?: unknown[]; stream?: string }[] = [];
        sock.on('message', (d) => msgs.push(JSON.parse(String(d))));
        await until(() => msgs.length, 10_000, 'hello');
        return { sock, msgs };
      };
      const pusher = await open(PUSHER);
      const watcher = await open(ADMIN);
      expect(pusher.msgs[0]).toMatchObject({ type: 'hello', streams: [] });
      expect(watcher.msgs[0]).toMatchObject({ type: 'hello', streams: [expect.objectContaining({ id: 'phone' })] });
      expect((await addStream(base, { id: 'second', source: 'push' }, admin)).status).toBe(201);
      await until(() => watcher.msgs.some((m) => m.type === 'status' && m.stream === 'second'), 10_000, 'the status of the new stream');
      // the pusher still pushes (to the stream it knows by name), and hears of no stream
      const jpeg = (await import('node:fs')).readFileSync(join(FIXTURES, 'stills', 'still01-640x360.jpg'));
      pusher.sock.send(encodeFrame({ stream: 'phone', seq: 0, capturedAt: Date.now(), format: 'jpeg' }, jpeg));
      pusher.sock.send(JSON.stringify({ type: 'ping', id: 'last' }));
      await until(() => pusher.msgs.some((m) => m.type === 'pong'), 10_000, 'the pong');
      expect(pusher.msgs.filter((m) => m.type === 'status')).toEqual([]);
      pusher.sock.close();
      watcher.sock.close();
    } finally {
      await server.close();
    }
  });

  it('lets a client push at the rate limit in small bursts (a token bucket, not a fixed window)', async () => {
    const { server, base, ws } = await start({ maxPushFps: 20 });
    try {
      expect((await addStream(base, { id: 'cam', source: 'push' })).status).toBe(201);
      const c = await TestClient.open(ws);
      const jpeg = (await import('node:fs')).readFileSync(join(FIXTURES, 'stills', 'still01-640x360.jpg'));
      // 20 frames a second on average, three at a time: a one-second window counted 21 by the 7th burst
      let seq = 0;
      for (let burst = 0; burst < 10; burst++) {
        for (let k = 0; k < 3; k++) c.ws.send(encodeFrame({ stream: 'cam', seq: seq++, capturedAt: Date.now(), format: 'jpeg' }, jpeg));
        await new Promise((r) => setTimeout(r, 150));
      }
      c.send({ type: 'ping', id: 'done' });
      await c.next((m) => m.type === 'pong');
      expect(c.of('error').filter((m) => m.code === 'LIMIT_PUSH_RATE')).toEqual([]);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it('caps clients, subscriptions per client, streams and pushed frames per second', async () => {
    const { server, base, ws } = await start({ maxClients: 2, maxSubscriptionsPerClient: 1, maxStreams: 1, maxPushFps: 2 });
    try {
      const a = await TestClient.open(ws);
      const b = await TestClient.open(ws);
      expect(await closeCode(ws)).toBe(1013);
      const add = (id: string) => addStream(base, { id, source: 'push' });
      expect((await add('one')).status).toBe(201);
      expect((await (await add('two')).json()).code).toBe('LIMIT_STREAMS');
      a.send({ type: 'subscribe', id: 's1', stream: 'one', queries: ['circle'] });
      a.send({ type: 'subscribe', id: 's2', stream: 'one', queries: ['circle'] });
      expect((await a.next((m) => m.type === 'error')).code).toBe('PROTOCOL_SUBSCRIPTION_LIMIT');
      const jpeg = (await import('node:fs')).readFileSync(join(FIXTURES, 'stills', 'still01-640x360.jpg'));
      for (let i = 0; i < 4; i++) b.ws.send(encodeFrame({ stream: 'one', seq: i, capturedAt: Date.now(), format: 'jpeg' }, jpeg));
      expect((await b.next((m) => m.type === 'error')).code).toBe('LIMIT_PUSH_RATE');
      await a.close();
      await b.close();
    } finally {
      await server.close();
    }
  });

  it("caps one client's distinct queries on a stream (LIMIT_CLIENT_QUERIES), over all its subscriptions to it, and leaves others room", async () => {
    const { server, base, ws } = await start({ maxQueriesPerClient: 3 });
    try {
      expect((await addStream(base, { id: 'one', source: 'push' })).status).toBe(201);
      expect((await addStream(base, { id: 'two', source: 'push' })).status).toBe(201);
      const a = await TestClient.open(ws);
      a.send({ type: 'subscribe', id: 's1', stream: 'one', queries: ['red circle', 'blue square'] });
      expect((await a.next((m) => m.type === 'subscribed' || m.type === 'error')).type).toBe('subscribed');
      // the same queries again, and one more, make three: allowed (distinct ones count)
      a.send({ type: 'subscribe', id: 's2', stream: 'one', queries: ['Red  Circle', 'star'] });
      expect(await a.next((m) => m.ref === 's2' || m.id === 's2')).toMatchObject({ type: 'subscribed' });
      // a fourth on the same stream is refused, and changes nothing
      a.send({ type: 'subscribe', id: 's3', stream: 'one', queries: ['cross'] });
      const refused = await a.next((m) => m.ref === 's3' || m.id === 's3');
      expect(refused).toMatchObject({ type: 'error', code: 'LIMIT_CLIENT_QUERIES', ref: 's3' });
      expect(refused.message).toContain('at most 3');
      a.send({ type: 'update', id: 's2', queries: ['star', 'cross'] });
      expect(await a.nextNew((m) => m.ref === 's2' || m.id === 's2')).toMatchObject({ type: 'error', code: 'LIMIT_CLIENT_QUERIES' });
      // s3's id is free again, on another stream the count starts afresh
      a.send({ type: 'subscribe', id: 's3', stream: 'two', queries: ['cross', 'star', 'purple triangle'] });
      expect(await a.nextNew((m) => m.ref === 's3' || m.id === 's3')).toMatchObject({ type: 'subscribed' });
      // another client holds its own three on stream one
      const b = await TestClient.open(ws);
      b.send({ type: 'subscribe', id: 's1', stream: 'one', queries: ['cross', 'green star', 'yellow square'] });
      expect((await b.next((m) => m.type === 'subscribed' || m.type === 'error')).type).toBe('subscribed');
      // a's update that swaps one for another stays within three
      a.send({ type: 'update', id: 's2', queries: ['cross'] });
      expect(await a.nextNew((m) => m.id === 's2' && m.type === 'subscribed')).toMatchObject({ queries: ['cross'], queryVersion: 2 });
      await a.close();
      await b.close();
    } finally {
      await server.close();
    }
  });

  it("caps a token's connections at its maxClients (close 1013), and frees the place when one closes", async () => {
    const LIMITED = 'limited-token-0123456789';
    const { server, ws } = await start({ tokens: [{ token: ADMIN, rights: ['watch'] }, { token: LIMITED, rights: ['watch'], maxClients: 2 }] });
    const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    try {
      const a = await TestClient.open(ws, as(LIMITED));
      const b = await TestClient.open(ws, as(LIMITED));
      expect(await closeCode(ws, clientSubprotocols(LIMITED))).toBe(1013);
      // another token is not held back by this one's cap
      const c = await TestClient.open(ws, as(ADMIN));
      await a.close();
      await until(() => (server.health() as { clients: number }).clients === 2, 5000, 'the closed connection to leave');
      const d = await TestClient.open(ws, as(LIMITED));
      await Promise.all([b.close(), c.close(), d.close()]);
    } finally {
      await server.close();
    }
  });

  it('counts an IPv6 client by its /64 (anyone holds one: per address would cap nothing), IPv4 by address, loopback not at all', () => {
    const key = (remoteAddress: string) => remoteKey({ socket: { remoteAddress } } as never);
    expect(key('2001:db8:1:2::1')).toBe('addr:2001:db8:1:2::/64');
    expect(key('2001:db8:1:2:ffff:eeee:dddd:28')).toBe('addr:2001:db8:1:2::/64');
    expect(key('2001:0DB8:0001:0002:0:0:0:9')).toBe('addr:2001:db8:1:2::/64');
    expect(key('2001:db8::5')).toBe('addr:2001:db8:0:0::/64');
    expect(key('fe80::1%eth0')).toBe('addr:fe80:0:0:0::/64');
    expect(key('::ffff:192.0.2.7')).toBe('addr:192.0.2.7');
    expect(key('192.0.2.7')).toBe('addr:192.0.2.7');
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(key(a)).toBeNull();
  });

  it('drops a refused client that never answers the close, instead of holding its socket for 30 s', async () => {
    const { server, ws } = await start({ tokens: [{ token: ADMIN }] });
    try {
      const { port } = new URL(ws);
      // a raw upgrade with no token, from a client that reads but never answers the close frame
      const sock = connect(Number(port), '127.0.0.1');
      sock.on('error', () => {});
      sock.on('data', () => {});
      sock.write(
        `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: groundstream.v1\r\n\r\n`,
      );
      const t0 = Date.now();
      await new Promise((resolve) => sock.once('close', resolve));
      expect(Date.now() - t0).toBeLessThan(15_000); // (ws alone would wait 30 s for the answer)
    } finally {
      await server.close();
    }
  }, 25_000);

  const external = Object.values(networkInterfaces())
    .flat()
    .find((n) => n && n.family === 'IPv4' && !n.internal)?.address;
  // Loopback is never capped (behind a proxy on this machine every client is loopback), so this
  // needs an address of this machine's own that is not loopback.
  it.skipIf(!external)('caps connections from one address other than loopback (close 1013), and leaves loopback alone', async () => {
    const { server, ws } = await start({ host: '0.0.0.0', tokens: [{ token: ADMIN }], maxClientsPerAddress: 2 });
    const as = { headers: { authorization: `Bearer ${ADMIN}` } };
    try {
      const port = new URL(ws).port;
      const far = `ws://${external}:${port}/v1/ws`;
      const open = [await TestClient.open(far, as), await TestClient.open(far, as)];
      expect(await closeCode(far, clientSubprotocols(ADMIN))).toBe(1013);
      const local = `ws://127.0.0.1:${port}/v1/ws`;
      for (let i = 0; i < 3; i++) open.push(await TestClient.open(local, as));
      await Promise.all(open.map((c) => c.close()));
    } finally {
      await server.close();
    }
  });

  it("hands ffmpeg a stream's rtspTransport (a camera that refuses RTSP over TCP: 461 Unsupported Transport)", async () => {
    const open = defaultSourceFactory(resolveConfig({}), []);
    const udp = (await open({ id: 'door', source: 'rtsp://192.168.1.64/door', rtspTransport: 'udp' }, model)) as FfmpegSource;
    const tcp = (await open({ id: 'gate', source: 'rtsp://192.168.1.64/gate' }, model)) as FfmpegSource;
    const transport = (s: FfmpegSource) => s.commandLine.inputOptions[s.commandLine.inputOptions.indexOf('-rtsp_transport') + 1];
    expect([transport(udp), transport(tcp)]).toEqual(['udp', 'tcp']);
  });

  it('opens capture devices only with allowDevices (serve --allow-devices)', async () => {
    const closed = await start({});
    const open = await start({ allowDevices: true });
    try {
      const refused = await addStream(closed.base, { id: 'cam', source: '/dev/video0' });
      expect([refused.status, (await refused.json()).code]).toEqual([403, 'INGEST_DEVICE_REFUSED']);
      // allowed, the device is looked for (there is no camera on this machine: "no such device")
      const looked = await addStream(open.base, { id: 'cam', source: 'v4l2:/dev/video-no-such-camera9' });
      expect([looked.status, (await looked.json()).code]).toEqual([400, 'INGEST_SOURCE_INVALID']);
    } finally {
      await closed.server.close();
      await open.server.close();
    }
  });

  it('holds maxStreams against requests that come together: the streams being opened count', async () => {
    const { server, base } = await start({ maxStreams: 2 });
    try {
      // file streams take a while to open (ffmpeg starts): all eight are in flight at once
      const clip = join(FIXTURES, 'clips', 'clip01-640x360.mp4');
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => addStream(base, { id: `s${i}`, source: clip, loop: true })));
      expect(answers.map((r) => r.status).sort()).toEqual([201, 201, 429, 429, 429, 429, 429, 429]);
      expect(((await (await fetch(`${base}/v1/streams`)).json()) as { streams: unknown[] }).streams).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

describe('operators', () => {
  /** A server whose log lines are kept, as [level, line]. */
  async function logged(extra: Parameters<typeof resolveConfig>[0]) {
    const lines: [string, string][] = [];
    const log = { info: (_o: object | string, m?: string) => void lines.push(['info', m ?? String(_o)]), warn: (_o: object | string, m?: string) => void lines.push(['warn', m ?? String(_o)]) };
    const server = new GroundstreamServer({ config: resolveConfig({ port: 0, ...extra }), model, fileRoots: [FIXTURES], log });
    const base = await server.listen();
    return { server, base, ws: `${base.replace('http', 'ws')}/v1/ws`, lines };
  }

  it('logs a camera that stays away once, not at every retry (its status messages go on)', async () => {
    const { server, base, ws, lines } = await logged({});
    try {
      const watcher = await TestClient.open(ws);
      expect((await addStream(base, { id: 'away', source: 'rtsp://127.0.0.1:1/x' })).status).toBe(201);
      await until(() => watcher.of('status').filter((m) => m.stream === 'away' && m.state === 'reconnecting').length >= 3, 30_000, 'three retries');
      expect(lines.filter(([level, l]) => level === 'warn' && l.startsWith('stream away: reconnecting'))).toHaveLength(1);
      await watcher.close();
    } finally {
      await server.close();
    }
  });

  it('logs who added and removed streams, refused requests and clients at warn, and sources in trouble at warn', async () => {
    const { server, base, ws, lines } = await logged({ tokens: [{ token: ADMIN, rights: ['watch', 'manage'], name: 'ops' }, { token: VIEWER, rights: ['watch'] }], maxClients: 1 });
    try {
      const admin = { authorization: `Bearer ${ADMIN}` };
      expect((await addStream(base, { id: 'cam', source: 'rtsp://127.0.0.1:1/x' }, admin)).status).toBe(201);
      expect((await addStream(base, { id: 'nope', source: 'push' }, { authorization: `Bearer ${VIEWER}` })).status).toBe(403);
      expect((await addStream(base, { id: 'nope', source: 'push' })).status).toBe(401);
      expect((await addStream(base, { id: 'meta', source: 'http://169.254.169.254/latest/meta-data/?token=abc' }, admin)).status).toBe(403);
      expect(await closeCode(ws, clientSubprotocols('not-a-token-0123456789'))).toBe(4001);
      const c = new WebSocket(ws, clientSubprotocols(VIEWER));
      await new Promise((r) => c.once('message', r)); // hello
      expect(await closeCode(ws, clientSubprotocols(VIEWER))).toBe(1013);
      c.close();
      await until(() => lines.some(([, l]) => /stream cam: reconnecting/.test(l)), 30_000, 'the reconnecting line');
      expect((await fetch(`${base}/v1/streams/cam`, { method: 'DELETE', headers: admin })).status).toBe(204);
      expect(lines).toEqual(
        expect.arrayContaining([
          ['info', 'stream cam: added by ops'],
          ['warn', 'refused POST /v1/streams: token token2 lacks the "manage" right'],
          ['warn', 'refused POST /v1/streams: a token is required'],
          // a refused stream, with who asked (an attempt at the cloud's metadata service is worth knowing)
          ['warn', 'refused POST /v1/streams by ops: INGEST_DESTINATION_REFUSED: source address is not allowed: 169.254.169.254 is in a denied network (deniedNetworks)'],
          ['warn', 'refused a WebSocket client (close code 4001): unknown token'],
          ['warn', 'refused a WebSocket client (close code 1013): at most 1 clients'],
          ['warn', expect.stringMatching(/^stream cam: reconnecting \(INGEST_OPEN_FAILED/)],
          ['info', 'stream cam: removed by ops'],
        ]),
      );
      expect(lines.filter(([level, l]) => level === 'info' && /reconnecting|failed|stalled/.test(l))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('logs a model that fails on every frame at warn, once per stream and code (not once per frame)', async () => {
    const lines: [string, string][] = [];
    const log = { info: (_o: object | string, m?: string) => void lines.push(['info', m ?? String(_o)]), warn: (_o: object | string, m?: string) => void lines.push(['warn', m ?? String(_o)]) };
    // the real model, but every inference fails as a graph fed the wrong shapes does
    const failing = Object.create(model) as GroundingModel;
    failing.detect = async () => {
      throw new GroundstreamError('MODEL_RUN_FAILED', 'Non-zero status code returned while running Add node');
    };
    const server = new GroundstreamServer({ config: resolveConfig({ port: 0 }), model: failing, fileRoots: [FIXTURES], log });
    const base = await server.listen();
    try {
      expect((await addStream(base, { id: 'p', source: 'push' })).status).toBe(201);
      const c = await TestClient.open(`${base.replace('http', 'ws')}/v1/ws`);
      c.send({ type: 'subscribe', id: 's', stream: 'p', queries: ['circle'] });
      await c.next((m) => m.type === 'subscribed');
      const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } }).jpeg().toBuffer();
      for (let seq = 0; seq < 3; seq++) {
        c.ws.send(encodeFrame({ stream: 'p', seq, capturedAt: Date.now(), format: 'jpeg' }, jpeg));
        expect(await c.next((m) => m.type === 'error' && m.ref === `p/${seq}`)).toMatchObject({ code: 'MODEL_RUN_FAILED' }); // each client still hears of each
      }
      expect(lines.filter(([, l]) => /MODEL_RUN_FAILED/.test(l))).toEqual([
        ['warn', 'stream p: MODEL_RUN_FAILED: model inference failed: Non-zero status code returned while running Add node'],
      ]);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it('answers /healthz with 503 while it shuts down, so that a load balancer stops sending clients', async () => {
    const { server, base } = await start({});
    // a client that never answers the closing handshake holds the shutdown open for a while
    const port = Number(new URL(base).port);
    const raw = connect(port, '127.0.0.1', () =>
      raw.write(`GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${clientSubprotocols()[0]}\r\n\r\n`),
    );
    raw.on('error', () => {});
    await new Promise<void>((r) => raw.once('data', () => r()));
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const closed = server.close();
    const during = await fetch(`${base}/healthz`);
    expect([during.status, ((await during.json()) as { status: string }).status]).toEqual([503, 'shutting-down']);
    raw.destroy();
    await closed;
  });
});

describe('faults', () => {
  it('drops a client that vanishes without closing, after two missed pings (not one)', async () => {
    const { server, ws } = await start({ pingIntervalMs: 200 });
    try {
      const alive = await TestClient.open(ws);
      // a client that stops answering: it receives pings but sends no pong and no close
      const gone = new WebSocket(ws, { autoPong: false });
      const pings: number[] = [];
      gone.on('ping', () => pings.push(server.clientCount));
      gone.on('error', () => {});
      const closed = new Promise((r) => gone.once('close', r));
      await closed;
      // it was still connected at each of the pings it missed (the lag probes sent when it
      // connected and after hello, then the keep-alive's two), and dropped after the keep-alive's second
      expect(pings).toEqual([2, 2, 2, 2]);
      while (server.clientCount > 1) await new Promise((r) => setTimeout(r, 20));
      alive.send({ type: 'ping', id: 'x' });
      expect((await alive.next((m) => m.type === 'pong')).id).toBe('x');
      await alive.close();
    } finally {
      await server.close();
    }
  });

  it('answers request targets that are not URLs, and bad percent-encoding, with 400, and carries on', async () => {
    const { server, base } = await start({});
    try {
      const { port } = new URL(base);
      for (const target of ['//', '//[', '//a:b@', '//:99999', '/v1/streams/%E0%A4%A']) {
        const reply = await rawHttp(Number(port), `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        expect(reply, target).toMatch(/^HTTP\/1\.1 400 /);
        expect(reply, target).toContain('HTTP_BAD_REQUEST');
      }
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('survives a refused WebSocket that sends a bad frame while it is being closed', async () => {
    const { server, base, ws } = await start({ requireAuth: true, tokens: [{ token: ADMIN, rights: ['watch'] }] });
    try {
      const { port } = new URL(base);
      // no token (refused with 4001), and in the same packet a frame with RSV2 set
      const upgrade =
        'GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
      const reply = await rawHttp(Number(port), Buffer.concat([Buffer.from(upgrade), Buffer.from([0xa1, 0x80, 0, 0, 0, 0])]));
      expect(reply).toMatch(/^HTTP\/1\.1 101 /);
      // the server is still up and serving
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await closeCode(ws)).toBe(4001);
    } finally {
      await server.close();
    }
  });

  it('handles one connection\'s messages in order: an update or unsubscribe sent right after a subscribe is answered after it', async () => {
    const { server, ws } = await start({});
    try {
      await server.streams.add({ id: 'p', source: 'push' });
      const c = await TestClient.open(ws);
      // never-seen queries, so that the subscribe waits for the text encoder
      c.send({ type: 'subscribe', id: 'a', stream: 'p', queries: ['teal circle one'] });
      c.send({ type: 'update', id: 'a', threshold: 0.9 });
      c.send({ type: 'subscribe', id: 'b', stream: 'p', queries: ['teal circle two'] });
      c.send({ type: 'unsubscribe', id: 'b' });
      c.send({ type: 'update', id: 'a', queries: ['teal circle three'] });
      c.send({ type: 'update', id: 'a', threshold: 0.2 });
      // restating what is in force (queries as typed differently, same threshold) changes nothing
      c.send({ type: 'update', id: 'a', threshold: 0.2, queries: ['Teal  Circle Three'], maxRate: null, image: null });
      c.send({ type: 'ping', id: 'end' });
      await c.next((m) => m.type === 'pong' && m.id === 'end');
      const answers = c.messages
        .filter((m) => ['subscribed', 'unsubscribed', 'error'].includes(m.type))
        .map((m) => [m.type, m.id ?? m.ref, m.threshold, m.queryVersion, m.queries?.[0]]);
      expect(answers).toEqual([
        ['subscribed', 'a', 0.4, 1, 'teal circle one'],
        ['subscribed', 'a', 0.9, 2, 'teal circle one'],
        ['subscribed', 'b', 0.4, 1, 'teal circle two'],
        ['unsubscribed', 'b', undefined, undefined, undefined],
        ['subscribed', 'a', 0.9, 3, 'teal circle three'],
        ['subscribed', 'a', 0.2, 4, 'teal circle three'],
        ['subscribed', 'a', 0.2, 4, 'teal circle three'],
      ]);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it('answers a request that hits a fault of ours with INTERNAL and its ref, once, and carries on', async () => {
    const faulty = withPrepare(async (q) => {
      if (q.includes('boom')) throw new TypeError('a bug');
    });
    const server = new GroundstreamServer({ config: resolveConfig({ port: 0 }), model: faulty });
    const ws = `${(await server.listen()).replace('http', 'ws')}/v1/ws`;
    try {
      await server.streams.add({ id: 'p', source: 'push' });
      const c = await TestClient.open(ws);
      c.send({ type: 'subscribe', id: 'x', stream: 'p', queries: ['boom'] });
      c.send({ type: 'subscribe', id: 'y', stream: 'p', queries: ['circle'] });
      await c.next((m) => m.type === 'subscribed' && m.id === 'y');
      expect(c.messages.filter((m) => m.type === 'error')).toEqual([{ type: 'error', code: 'INTERNAL', message: 'internal error', ref: 'x' }]);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it("never shows a camera's credentials in the stream list", async () => {
    const { server, base } = await start({});
    try {
      const add = await addStream(base, { id: 'cam', source: 'rtsp://admin:p@ss@127.0.0.1:9/stream' });
      expect(add.status).toBe(201);
      const list = JSON.stringify(await (await fetch(`${base}/v1/streams`)).json());
      const one = JSON.stringify(await (await fetch(`${base}/v1/streams/cam`)).json());
      for (const text of [list, one]) {
        expect(text).toContain('rtsp://***@127.0.0.1:9/stream');
        expect(text).not.toMatch(/admin|p@ss/);
      }
    } finally {
      await server.close();
    }
  });

  it('names a file that cannot be decoded as it was given, not by the real path the server found it at', async () => {
    const { server, base } = await start({});
    try {
      expect((await addStream(base, { id: 'notvideo', source: 'clips/clip01-640x360.truth.json' })).status).toBe(201);
      const failed = (id: string) =>
        until(async () => {
          const e = (await (await fetch(`${base}/v1/streams/${id}`)).json()) as { state: string; error?: { code: string; message: string } };
          return e.state === 'failed' ? e : undefined;
        }, 30_000, `stream ${id} failed`);
      const e = await failed('notvideo');
      expect(e.error).toMatchObject({ code: 'INGEST_OPEN_FAILED', message: expect.stringContaining('clips/clip01-640x360.truth.json: Invalid data') });
      expect(JSON.stringify(e)).not.toContain(FIXTURES);
    } finally {
      await server.close();
    }
    // a directory deep enough that ffmpeg's line about it is over 300 characters, and a name
    // with `$&` in it (a replacement pattern, to String.replace)
    const top = mkdtempSync(join(tmpdir(), 'gs-deep-'));
    const deep = join(top, ...Array.from({ length: 12 }, (_, i) => `directory-number-${i}-of-a-deep-tree`));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'we$&ird (1).json'), '{"not": "a video"}');
    const other = await start({ allowedDirs: [deep] });
    try {
      expect((await addStream(other.base, { id: 'deep', source: 'we$&ird (1).json' })).status).toBe(201);
      const e = await until(async () => {
        const x = (await (await fetch(`${other.base}/v1/streams/deep`)).json()) as { state: string; error?: { message: string } };
        return x.state === 'failed' ? x : undefined;
      }, 30_000, 'the deep stream failed');
      expect(e.error?.message).toContain('we$&ird (1).json');
      expect(JSON.stringify(e)).not.toContain('directory-number');
    } finally {
      await other.server.close();
      rmSync(top, { recursive: true, force: true });
    }
  });

  it('shows why a camera cannot be reached, in the stream list and in the stream itself, and only for that stream', async () => {
    const { server, base, ws } = await start({});
    try {
      const watcher = await TestClient.open(ws);
      const add = await addStream(base, { id: 'gone', source: 'rtsp://camera.invalid/stream' });
      expect(add.status).toBe(201);
      // over the WebSocket: the code as a field, for a program to act on
      const said = await watcher.next((m) => m.type === 'status' && m.stream === 'gone' && m.state !== 'connecting');
      expect(said).toMatchObject({ code: 'INGEST_OPEN_FAILED', detail: expect.stringMatching(/^INGEST_OPEN_FAILED: .*camera\.invalid/) });
      await watcher.close();
      let one: { state?: string; error?: { code: string; message: string } } = {};
      while (!one.error) {
        await new Promise((r) => setTimeout(r, 50));
        one = await (await fetch(`${base}/v1/streams/gone`)).json();
      }
      expect(one.state).toMatch(/reconnecting|failed/);
      expect(one.error).toMatchObject({ code: 'INGEST_OPEN_FAILED', message: expect.stringMatching(/camera\.invalid/) });
      expect(one.error.message).not.toMatch(/SIGSEGV/);
      const list = (await (await fetch(`${base}/v1/streams`)).json()) as { streams: { id: string; error?: unknown }[] };
      expect(list.streams.find((x) => x.id === 'gone')?.error).toMatchObject({ code: 'INGEST_OPEN_FAILED' });
      expect(list.streams.filter((x) => x.id !== 'gone').every((x) => x.error === undefined)).toBe(true);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('holds a flood of messages behind a slow one without losing or reordering any: the socket is paused (and not taken for dead), then resumed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = withPrepare(async (q) => {
      if (q.includes('slow')) await gate;
    });
    const server = new GroundstreamServer({ config: resolveConfig({ port: 0, pingIntervalMs: 100 }), model: slow });
    const base = await server.listen();
    const ws = `${base.replace('http', 'ws')}/v1/ws`;
    const paused = async () => Number(/^groundstream_client_reads_paused_total (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);
    try {
      await server.streams.add({ id: 'p', source: 'push' });
      const c = await TestClient.open(ws);
      expect(await paused()).toBe(0);
      c.send({ type: 'subscribe', id: 'x', stream: 'p', queries: ['slow'] });
      for (let i = 0; i < 500; i++) c.send({ type: 'ping', id: `n${i}` });
      while ((await paused()) === 0) await new Promise((r) => setTimeout(r, 20));
      // held for several heartbeat intervals: its pongs go unread, and it must not be dropped for that
      await new Promise((r) => setTimeout(r, 600));
      expect(server.clientCount).toBe(1);
      expect(c.messages.filter((m) => m.type === 'pong')).toHaveLength(0); // all wait behind the subscribe
      release();
      await c.next((m) => m.type === 'pong' && m.id === 'n499');
      const answers = c.messages.filter((m) => m.type === 'pong' || m.type === 'subscribed' || m.type === 'error');
      expect(answers.map((m) => m.id)).toEqual(['x', ...Array.from({ length: 500 }, (_, i) => `n${i}`)]);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it('refuses a subscription to a stream that has ended, instead of acknowledging it and staying silent', async () => {
    const { server, ws } = await start({});
    try {
      await server.streams.add({ id: 'done', source: join(FIXTURES, 'clips', 'clip01-640x360.mp4'), realtime: false, loop: false });
      while (server.streams.get('done')?.status.state !== 'ended') await new Promise((r) => setTimeout(r, 50));
      const c = await TestClient.open(ws);
      c.send({ type: 'subscribe', id: 'late', stream: 'done', queries: ['circle'] });
      const reply = await c.next((m) => m.type === 'error' || m.type === 'subscribed');
      expect(reply).toMatchObject({ type: 'error', code: 'PROTOCOL_STREAM_ENDED', ref: 'late' });
      await c.close();
    } finally {
      await server.close();
    }
  });

  it('keeps answering after thousands of random and mutated messages', async () => {
    const { server, ws } = await start({});
    try {
      await server.streams.add({ id: 'p', source: 'push' });
      const c = await TestClient.open(ws);
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const valid = [
        JSON.stringify({ type: 'subscribe', id: 'a', stream: 'p', queries: ['circle'] }),
        JSON.stringify({ type: 'update', id: 'a', queries: ['star'], threshold: 0.5 }),
        JSON.stringify({ type: 'ping', id: 'q', t: 1 }),
      ];
      const frame = encodeFrame({ stream: 'p', seq: 1, capturedAt: 1, format: 'png' }, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2]));
      for (let i = 0; i < 3000; i++) {
        const base = valid[i % valid.length]!;
        const r = rnd();
        if (r < 0.3) {
          const bytes = Buffer.from(frame);
          for (let k = 0; k < 1 + rnd() * 4; k++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
          c.ws.send(bytes);
        } else if (r < 0.6) {
          const chars = base.split('');
          for (let k = 0; k < 1 + rnd() * 4; k++) chars[Math.floor(rnd() * chars.length)] = String.fromCharCode(Math.floor(rnd() * 128));
          c.ws.send(chars.join(''));
        } else if (r < 0.7) {
          c.ws.send(Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))), { binary: true });
        } else if (r < 0.8) {
          // random text (valid UTF-8: invalid UTF-8 in a text frame is a WebSocket protocol error, closed with 1007 by design)
          c.ws.send(Array.from({ length: Math.floor(rnd() * 200) }, () => String.fromCharCode(32 + Math.floor(rnd() * 0x2000))).join(''));
        } else {
          c.ws.send(base);
        }
      }
      c.send({ type: 'ping', id: 'after-fuzz' });
      expect((await c.next((m) => m.type === 'pong' && m.id === 'after-fuzz', 60_000)).id).toBe('after-fuzz');
      expect(c.of('error').length).toBeGreaterThan(100);
      expect((await fetch(ws.replace('ws', 'http').replace('/v1/ws', '/healthz'))).status).toBe(200);
      await c.close();
    } finally {
      await server.close();
    }
  });
});

describe('metrics', () => {
  it('exposes frames, inference time, latency, clients and source state for Prometheus', async () => {
    const { server, base, ws } = await start({});
    try {
      await addStream(base, { id: 'm', source: join(FIXTURES, 'clips', 'clip01-640x360.mp4'), loop: true });
      const c = await TestClient.open(ws);
      c.send({ type: 'subscribe', id: 's', stream: 'm', queries: ['circle'] });
      for (let i = 0; i < 3; i++) await c.nextNew((m) => m.type === 'detections');
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(/groundstream_frames_processed_total\{stream="m"\} [1-9]/);
      expect(text).toMatch(/groundstream_inference_seconds_count\{stream="m"\} [1-9]/);
      expect(text).toMatch(/groundstream_latency_seconds_bucket/);
      expect(text).toMatch(/groundstream_clients 1/);
      expect(text).toMatch(/groundstream_source_state\{stream="m",state="live"\} 1/);
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m); // the standard names, for stock dashboards
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
      // counts are counters, not gauges
      for (const name of ['frames_in', 'frames_processed', 'frames_dropped', 'frames_idle', 'inference_errors']) expect(text).toContain(`# TYPE groundstream_${name}_total counter`);
      for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE'))) {
        const name = line.split(' ')[2]!; // (ours: prom-client's own nodejs_active_*_total are gauges)
        if (name.startsWith('groundstream_') && name.endsWith('_total')) expect(line).toMatch(/ counter$/);
      }
      await c.close();
      // a removed stream leaves no series behind
      expect((await fetch(`${base}/v1/streams/m`, { method: 'DELETE' })).status).toBe(204);
      const after = await (await fetch(`${base}/metrics`)).text();
      expect(after).not.toMatch(/stream="m"/);
    } finally {
      await server.close();
    }
  });

  it('counts what an operator alerts on: a camera that keeps dropping, errors answered by code, refused connections by reason', async () => {
    const { server, base, ws } = await start({ tokens: [{ token: ADMIN, rights: ['watch', 'push', 'manage'], maxClients: 1 }] });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const metric = async (re: RegExp) => Number(re.exec(await (await fetch(`${base}/metrics`, { headers: auth })).text())?.[1] ?? NaN);
    try {
      // every refusal reason has a series from the start, at 0
      expect(await metric(/^groundstream_connections_refused_total\{reason="per_token"\} (\d+)/m)).toBe(0);
      const c = await TestClient.open(ws, { headers: auth });
      // a camera that cannot be reached: each retry counts, by the error's code
      expect((await addStream(base, { id: 'away', source: 'rtsp://127.0.0.1:1/x' }, auth)).status).toBe(201);
      await until(() => c.of('status').filter((m) => m.stream === 'away' && m.state === 'reconnecting').length >= 2, 30_000, 'two retries');
      const retries = c.of('status').filter((m) => m.stream === 'away' && m.state === 'reconnecting').length;
      const counted = await metric(/^groundstream_source_reconnects_total\{stream="away",code="INGEST_OPEN_FAILED"\} (\d+)/m);
      expect(counted).toBeGreaterThanOrEqual(retries); // (another may come between the two reads)
      expect(counted).toBeLessThanOrEqual(retries + 1);
      // errors answered: two bad messages on the WebSocket, an unknown stream and a 404 over HTTP
      c.send({ type: 'subscribe', id: 'x', stream: 'nope', queries: ['circle'] });
      c.ws.send('{not json');
      await until(() => c.of('error').length >= 2, 10_000, 'two error replies');
      const unknown = await fetch(`${base}/v1/streams/nope`, { headers: auth });
      expect([unknown.status, ((await unknown.json()) as { code: string }).code]).toEqual([404, 'PROTOCOL_STREAM_UNKNOWN']);
      expect((await fetch(`${base}/no-such-page`)).status).toBe(404);
      expect(await metric(/^groundstream_errors_total\{code="PROTOCOL_STREAM_UNKNOWN",via="ws"\} (\d+)/m)).toBe(1);
      expect(await metric(/^groundstream_errors_total\{code="PROTOCOL_BAD_JSON",via="ws"\} (\d+)/m)).toBe(1);
      expect(await metric(/^groundstream_errors_total\{code="PROTOCOL_STREAM_UNKNOWN",via="http"\} (\d+)/m)).toBe(1);
      expect(await metric(/^groundstream_errors_total\{code="HTTP_NOT_FOUND",via="http"\} (\d+)/m)).toBe(1);
      // refused: no token, a wrong one, one client too many on the token
      expect(await closeCode(ws)).toBe(4001);
      expect(await closeCode(ws, undefined, { authorization: 'Bearer wrong-token-0123456789' })).toBe(4001);
      expect(await closeCode(ws, undefined, auth)).toBe(1013);
      expect(await metric(/^groundstream_connections_refused_total\{reason="unauthorized"\} (\d+)/m)).toBe(2);
      expect(await metric(/^groundstream_connections_refused_total\{reason="per_token"\} (\d+)/m)).toBe(1);
      // (a client of another protocol version, with the token: refused after the handshake)
      await c.close();
      await until(async () => (await metric(/^groundstream_clients (\d+)/m)) === 0, 10_000, 'the server to see the close');
      expect(await closeCode(ws, ['groundstream.v99'], auth)).toBe(4010);
      expect(await metric(/^groundstream_connections_refused_total\{reason="protocol"\} (\d+)/m)).toBe(1);
      expect(await metric(/^groundstream_connections_refused_total\{reason="max_clients"\} (\d+)/m)).toBe(0);
    } finally {
      await server.close();
    }
  });
});

const ffmpegChildren = (pid: number) => {
  try {
    return execFileSync('pgrep', ['-P', String(pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

describe('graceful shutdown', () => {
  it('on SIGTERM closes clients with 1001, stops ffmpeg and exits 0', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'serve', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += String(d);
        const m = /"websocket":"(ws:\/\/[^"]+)"/.exec(out); // (stdout is not a terminal: JSON lines)
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const c = await TestClient.open(url);
    c.send({ type: 'subscribe', id: 's', stream: 'demo', queries: ['circle'] });
    await c.next((m) => m.type === 'detections');
    expect(ffmpegChildren(child.pid!).length).toBe(1);
    const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await exited).toBe(0);
    expect(ffmpegChildren(child.pid!)).toEqual([]);
  });

  it('with --shutdown-delay, on SIGTERM answers /healthz with 503 and goes on serving (new clients too) until the delay ends or a second signal comes', async () => {
    // (a delay far longer than the test: the second SIGTERM is what ends it)
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'serve', '--port', '0', '--shutdown-delay', '600000', '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const base = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += String(d);
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const url = `${base.replace('http', 'ws')}/v1/ws`;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const c = await TestClient.open(url);
      c.send({ type: 'subscribe', id: 's', stream: 'demo', queries: ['circle'] });
      await c.next((m) => m.type === 'detections');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      await until(async () => (await fetch(`${base}/healthz`)).status === 503, 10_000, '/healthz to fail');
      expect(((await (await fetch(`${base}/healthz`)).json()) as { status: string }).status).toBe('shutting-down');
      // still served: results keep coming, and a client that arrives now is let in
      const seen = c.of('detections').length;
      await until(() => c.of('detections').length >= seen + 3, 10_000, 'results after SIGTERM');
      const late = await TestClient.open(url);
      late.send({ type: 'subscribe', id: 's', stream: 'demo', queries: ['square'] });
      await late.next((m) => m.type === 'detections');
      const closed = Promise.all([c, late].map((x) => new Promise<number>((r) => x.ws.once('close', (code) => r(code)))));
      child.kill('SIGTERM'); // the second: at once
      expect(await closed).toEqual([1001, 1001]);
      expect(await exited).toBe(0);
      expect(out).toMatch(/SIGTERM: \/healthz answers 503; shutting down in 600000 ms/);
      expect(out).toMatch(/not waiting out the shutdown delay/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('on a port in use says so with a code and exits 2 (the demo stream it opened first is closed: its ffmpeg would keep the process alive)', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'serve', '--port', String(port), '--log-level', 'silent'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_FORMAT: 'json' },
      });
      let err = '';
      let out = '';
      child.stderr.on('data', (d) => (err += String(d)));
      child.stdout.on('data', (d) => (out += String(d)));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).toBe(2);
      expect(err).toMatch(/^error SERVER_LISTEN_FAILED: cannot listen on 127\.0\.0\.1:\d+: the port is in use/m);
      expect(err).not.toMatch(/at Server\./); // a message, not a stack trace
      // and for a collector that reads the JSON log lines: one more, fatal, with the code
      const last = JSON.parse(out.trim().split('\n').at(-1)!);
      expect(last).toMatchObject({ level: 60, code: 'SERVER_LISTEN_FAILED', msg: expect.stringMatching(/^error SERVER_LISTEN_FAILED: .*port is in use/) });
    } finally {
      blocker.close();
    }
  });

  /** `serve --no-demo` with stdout and stderr piped; resolves once it says where it listens. */
  async function serveLogging(format: 'json' | 'pretty') {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'serve', '--port', '0', '--no-demo'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_FORMAT: format } });
    let out = '';
    const errs = { text: '' };
    child.stderr.on('data', (d) => (errs.text += String(d)));
    const base = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += String(d);
        const m = /listening on (http:\/\/[^\s"]+)/.exec(out);
        if (m) {
          child.stdout.off('data', onData);
          resolve(m[1]!);
        }
      };
      child.stdout.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, base, errs, exited };
  }

  it('carries on when its standard output is closed (a log reader that went away), and still stops on SIGTERM', async () => {
    for (const format of ['json', 'pretty'] as const) {
      const { child, base, errs, exited } = await serveLogging(format);
      child.stdout.destroy(); // as `| head` does once it has its lines
      // every stream added is logged: the writes fail, the server carries on
      for (const id of ['p1', 'p2', 'p3']) expect((await addStream(base, { id, source: 'push' })).status, format).toBe(201);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      await until(() => /standard output was closed/.test(errs.text), 20_000, `the notice on stderr (${format})`);
      expect(errs.text).toMatch(/standard output was closed \(EPIPE\): log lines are dropped from now on; the server carries on/);
      child.kill('SIGTERM');
      expect(await exited, format).toBe(0);
    }
  });

  it('carries on when the reader of its standard output stops reading (a stalled log shipper), and still stops on SIGTERM', async () => {
    const { child, base, exited } = await serveLogging('json');
    child.stdout.pause(); // the pipe fills: about 80 kB, then every write of the server's would block
    // each add and remove logs about 300 bytes: 400 of each are well past what the pipe takes
    for (let i = 0; i < 400; i++) {
      expect((await addStream(base, { id: `p${i}`, source: 'push' })).status).toBe(201);
      expect((await fetch(`${base}/v1/streams/p${i}`, { method: 'DELETE' })).status).toBe(204);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('with a stream that cannot be opened at start says so and exits 2, stopping the streams opened before it', async () => {
    // the clip under a name of its own, so that its ffmpeg can be found after the server is gone
    const dir = mkdtempSync(join(tmpdir(), 'gs-start-'));
    const clip = join(dir, `clip-${process.pid}-${Date.now()}.mp4`);
    copyFileSync(join(FIXTURES, 'clips', 'clip01-640x360.mp4'), clip);
    const ffmpegOf = () => {
      try {
        return execFileSync('pgrep', ['-f', clip], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      } catch {
        return [];
      }
    };
    try {
      const args = ['serve', '--port', '0', '--log-level', 'silent', '--allow-dir', dir, '-s', `loop=${clip}#loop`, '-s', 'cam=clips/missing.mp4'];
      const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += String(d)));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).toBe(2);
      expect(err).toMatch(/^error INGEST_SOURCE_INVALID: .*streams\[1\] \("cam"\): .*clips\/missing\.mp4/m); // (which of the configured streams)
      expect(ffmpegOf()).toEqual([]); // the looping clip's ffmpeg was stopped, not left behind
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
