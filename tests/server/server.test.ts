/**
 * The streaming core end to end: the real bundled model (onnxruntime), real ffmpeg decoding the
 * fixture clips, and real sockets on loopback.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { resolveConfig } from '../../src/config/config.js';
import { Scorer } from '../../src/eval/average-precision.js';
import { scoringQueries } from '../../src/eval/shapes-world.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { encodeFrame } from '../../src/protocol/index.js';
import { GroundstreamServer } from '../../src/server/server.js';
import { clipFrames } from '../../src/eval/clip-frames.js';
import { clips, FIXTURES } from '../helpers/fixtures.js';
import { TestClient } from '../helpers/ws-client.js';
import { until } from '../client/fake-server.js';

let model: GroundingModel;
/** detect() calls, counted between the server and the model. */
let inferences = 0;
let server: GroundstreamServer;
let base: string;
let wsUrl: string;

const addStream = async (id: string, source: string, extra: Record<string, unknown> = {}) => {
  const r = await fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, source, ...extra }) });
  expect(r.status, await r.clone().text()).toBe(201);
};

beforeAll(async () => {
  model = await loadModel(BUNDLED_MODEL_DIR);
  const counting: GroundingModel = {
    info: model.info,
    // (a query named "slowly encoded" takes 2.5 s: a request that holds up the client's queue)
    prepareQueries: (q) =>
      q.includes('slowly encoded') ? new Promise((r) => setTimeout(r, 2500)).then(() => model.prepareQueries(['circle'])) : model.prepareQueries(q),
    detect: (...a) => (inferences++, model.detect(...a)),
    workingSize: (w, h) => model.workingSize(w, h),
    close: async () => {},
  };
  server = new GroundstreamServer({ config: resolveConfig({ port: 0, pingIntervalMs: 5000, clientBufferBytes: 64 * 1024 }), model: counting, fileRoots: [FIXTURES] });
  base = await server.listen();
  wsUrl = `${base.replace('http', 'ws')}/v1/ws`;
});

afterAll(async () => {
  await server?.close();
  await model?.close();
});

describe('streaming server over real sockets', () => {
  it('answers health and lists streams', async () => {
    const h = await (await fetch(`${base}/healthz`)).json();
    expect(h.status).toBe('ok');
    expect(h.model.name).toBe('shapes-owl');
    const r = await fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id": "x"' });
    expect(r.status).toBe(400);
    expect((await r.json()).code).toBe('HTTP_BAD_REQUEST');
    const bad = await fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'evil', source: 'concat:/etc/passwd' }) });
    expect((await bad.json()).code).toBe('INGEST_PROTOCOL_REFUSED');
    const extra = await fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'x', source: 'push', fps: 5 }) });
    expect(extra.status).toBe(400);
    expect(await extra.json()).toMatchObject({ code: 'HTTP_BAD_REQUEST', message: expect.stringContaining('unknown field "fps"') });
    expect((await fetch(`${base}/v1/streams/none`, { method: 'DELETE' })).status).toBe(404);
  });

  it("says in hello which run of the server it is, the same on every connection, and the model's input size", async () => {
    const hellos = await Promise.all([0, 1].map(async () => {
      const c = await TestClient.open(wsUrl);
      const h = await c.next((m) => m.type === 'hello');
      await c.close();
      return h;
    }));
    expect(hellos[0].instance).toMatch(/^[0-9a-f-]{36}$/);
    expect(hellos[1].instance).toBe(hellos[0].instance);
    expect(hellos[0].model).toMatchObject({ name: 'shapes-owl', imageSize: 224 });
    expect(hellos[0].instance).toBe(server.instance);
  });

  it('streams detections whose accuracy matches the model on the same clip', async () => {
    const clip = clips().find((c) => c.path.includes('clip02'))!;
    const queries = scoringQueries();
    const c = await TestClient.open(wsUrl);
    await addStream('acc', clip.path, { realtime: true });
    c.send({ type: 'subscribe', id: 'all', stream: 'acc', queries: queries.slice(0, 32) });
    c.send({ type: 'subscribe', id: 'rest', stream: 'acc', queries: queries.slice(32) });
    await c.next((m) => m.type === 'unsubscribed' && m.id === 'all' && m.reason === 'stream-ended', 60_000);
    const dets = c.of('detections');
    const bySeq = new Map<number, any[]>();
    for (const d of dets) bySeq.set(d.frame.seq, [...(bySeq.get(d.frame.seq) ?? []), ...d.detections]);
    // only frames both subscriptions got, so that every query was answered on each scored frame
    const seqs = [...bySeq.keys()].filter((s) => dets.filter((d) => d.frame.seq === s).length === 2);
    expect(seqs.length).toBeGreaterThan(clip.truth.frames.length / 2);
    const live = new Scorer(queries, model.info.threshold);
    for (const s of seqs) live.addFrame(clip.truth.frames[s]!.objects, bySeq.get(s)!);
    // the model's own evaluation of the same frames: detect() directly, no server in between
    const direct = new Scorer(queries, model.info.threshold);
    const prepared = await model.prepareQueries(queries);
    const wanted = new Set(seqs);
    for await (const f of clipFrames(clip.path, { width: 224, height: 224, fit: 'stretch' })) {
      if (!wanted.has(f.seq)) continue;
      const r = await model.detect({ data: f.data, width: f.width, height: f.height, sourceWidth: f.sourceWidth, sourceHeight: f.sourceHeight }, prepared);
      direct.addFrame(clip.truth.frames[f.seq]!.objects, r.detections);
    }
    expect(dets[0].frame.width).toBe(640);
    const [l, d] = [live.result().mAP50!, direct.result().mAP50!];
    expect(Math.abs(l - d), `live ${l} vs direct ${d}`).toBeLessThanOrEqual(0.01);
    expect(l).toBeGreaterThan(0.8);
    await c.close();
  });

  it('serves 50 clients of one stream from one inference per frame', async () => {
    await addStream('fan', join(FIXTURES, 'clips', 'clip01-640x360.mp4'), { realtime: true, loop: true });
    const clients = await Promise.all(Array.from({ length: 50 }, () => TestClient.open(wsUrl)));
    // most name their subscription alike (as SDK clients do: one frame serves them all), some not
    const ids = clients.map((_, i) => (i % 5 ? 's' : `own-${i}`));
    clients.forEach((c, i) => c.send({ type: 'subscribe', id: ids[i], stream: 'fan', queries: i % 2 ? ['red circle', 'circle'] : ['circle', 'blue object'] }));
    await Promise.all(clients.map((c) => c.next((m) => m.type === 'subscribed')));
    // count inferences over a window in which every client receives at least 10 results
    const start = inferences;
    const seen = clients.map((c) => c.of('detections').length);
    await Promise.all(clients.map(async (c, i) => {
      while (c.of('detections').length < seen[i]! + 10) await c.nextNew((m) => m.type === 'detections');
    }));
    const used = inferences - start;
    const frames = new Set(clients.flatMap((c, i) => c.of('detections').slice(seen[i]).map((m) => m.frame.seq)));
    // one inference per distinct frame delivered (give or take the one in flight), not one per client
    expect(used).toBeGreaterThanOrEqual(frames.size - 1);
    expect(used).toBeLessThanOrEqual(frames.size + 2);
    // and each frame's results reached every client with the same boxes for the shared query
    const seq = [...frames].find((s) => clients.every((c) => c.of('detections').some((m) => m.frame.seq === s)));
    expect(seq).toBeDefined();
    const circles = clients.map((c) => JSON.stringify(c.of('detections').find((m) => m.frame.seq === seq).detections.filter((d: any) => d.query === 'circle')));
    expect(new Set(circles).size).toBe(1);
    clients.forEach((c, i) => expect(new Set(c.of('detections').map((m) => m.subscription))).toEqual(new Set([ids[i]])));
    await Promise.all(clients.map((c) => c.close()));
    await fetch(`${base}/v1/streams/fan`, { method: 'DELETE' });
  });

  it('holds a subscription to its maxRate, and lifts it on update', async () => {
    await addStream('rate', join(FIXTURES, 'clips', 'clip01-640x360.mp4'), { realtime: true, loop: true });
    const c = await TestClient.open(wsUrl);
    c.send({ type: 'subscribe', id: 'r', stream: 'rate', queries: ['circle'], maxRate: 4 });
    expect((await c.next((m) => m.type === 'subscribed')).maxRate).toBe(4);
    const gaps = async (n: number) => {
      const seen: number[] = [];
      while (seen.length < n) seen.push((await c.nextNew((m) => m.type === 'detections')).frame.pts);
      return seen.slice(1).map((t, i) => t - seen[i]!);
    };
    // at most 4 a second from a 30 fps source: results about 8 frames (0.25 s of pts) apart
    for (const g of await gaps(4)) expect(g).toBeGreaterThan(0.15);
    c.send({ type: 'update', id: 'r', maxRate: null });
    const ack = await c.nextNew((m) => m.type === 'subscribed');
    expect(ack.maxRate).toBeUndefined();
    expect(ack.queryVersion).toBe(2);
    await c.nextNew((m) => m.type === 'detections' && m.queryVersion === 2);
    expect(Math.min(...(await gaps(10)))).toBeLessThan(0.1); // every frame the model takes again
    await c.close();
    await fetch(`${base}/v1/streams/rate`, { method: 'DELETE' });
  });

  it('changes queries mid-stream and says which version each result answers', async () => {
    await addStream('live', join(FIXTURES, 'clips', 'clip01-640x360.mp4'), { realtime: true, loop: true });
    const c = await TestClient.open(wsUrl);
    c.send({ type: 'subscribe', id: 'q', stream: 'live', queries: ['circle'] });
    expect((await c.next((m) => m.type === 'subscribed')).queryVersion).toBe(1);
    await c.next((m) => m.type === 'detections' && m.queryVersion === 1);
    c.send({ type: 'update', id: 'q', queries: ['Blue  Object', 'star'], threshold: 0.2 });
    const ack = await c.nextNew((m) => m.type === 'subscribed');
    expect(ack.queryVersion).toBe(2);
    expect(ack.queries).toEqual(['blue object', 'star']);
    const r = await c.next((m) => m.type === 'detections' && m.queryVersion === 2);
    for (const d of r.detections) {
      expect(['blue object', 'star']).toContain(d.query);
      expect(d.score).toBeGreaterThanOrEqual(0.2);
    }
    await c.close();
    await fetch(`${base}/v1/streams/live`, { method: 'DELETE' });
  });

  it('keeps serving others while a client never reads, and conflates what that client misses', async () => {
    await addStream('slow', join(FIXTURES, 'clips', 'clip06-1280x720-crowded.mp4'), { realtime: true, loop: true });
    const slow = await TestClient.open(wsUrl);
    const fast = await TestClient.open(wsUrl);
    const queries = scoringQueries().slice(0, 30);
    slow.send({ type: 'subscribe', id: 'a', stream: 'slow', queries, threshold: 0.01 });
    await slow.next((m) => m.type === 'subscribed');
    // stop reading: the kernel buffers fill, then the server's send buffer grows
    (slow.ws as any)._socket.pause();
    fast.send({ type: 'subscribe', id: 'b', stream: 'slow', queries: ['circle'] });
    await fast.next((m) => m.type === 'subscribed');
    // the fast client keeps getting results while the slow one's buffers fill up, until the
    // server starts conflating the slow one's results
    const first = fast.of('detections').length;
    while (server.missedResults === 0) await fast.nextNew((m) => m.type === 'detections');
    for (let i = 0; i < 5; i++) await fast.nextNew((m) => m.type === 'detections');
    expect(fast.of('detections').length - first).toBeGreaterThanOrEqual(5);
    (slow.ws as any)._socket.resume();
    await slow.next((m) => m.type === 'missed', 30_000);
    expect(slow.of('missed')[0].count).toBeGreaterThan(0);
    await slow.close();
    await fast.close();
    await fetch(`${base}/v1/streams/slow`, { method: 'DELETE' });
  });

  it('gives a client that reads too slowly the newest result and a missed count long before its buffer fills', async () => {
    // small results (one query): the kernel's buffers would hold minutes of them, so the bytes
    // waiting here never reach clientBufferBytes; the lag probe (a ping behind the results,
    // answered only once the client has read them) is what finds the client behind
    await addStream('lag', join(FIXTURES, 'clips', 'clip01-640x360.mp4'), { realtime: true, loop: true });
    const slow = await TestClient.open(wsUrl);
    const fast = await TestClient.open(wsUrl);
    slow.send({ type: 'subscribe', id: 'a', stream: 'lag', queries: ['circle'] });
    await slow.next((m) => m.type === 'detections');
    const before = server.missedResults;
    (slow.ws as any)._socket.pause();
    fast.send({ type: 'subscribe', id: 'b', stream: 'lag', queries: ['circle'] });
    while (server.missedResults === before) await fast.nextNew((m) => m.type === 'detections');
    const newestSent = fast.of('detections').at(-1).frame.seq;
    (slow.ws as any)._socket.resume();
    const notice = await slow.next((m) => m.type === 'missed');
    expect(notice.count).toBeGreaterThan(0);
    // right after the notice: the newest result, not the backlog
    const at = slow.messages.indexOf(notice);
    const next = await slow.next((m) => m.type === 'detections' && slow.messages.indexOf(m) > at);
    expect(next.frame.seq).toBeGreaterThanOrEqual(newestSent);
    await slow.close();
    await fast.close();
    await fetch(`${base}/v1/streams/lag`, { method: 'DELETE' });
  });

  it('gives a far client that was held up once the full stream again (it is not left paced)', async () => {
    // a link with 60 ms each way: a round trip longer than the time between results, so a client
    // sent one result per answered ping would get a few a second for good
    const port = Number(new URL(base).port);
    const proxy = createServer((down) => {
      const up = connect(port, '127.0.0.1');
      for (const [from, to] of [[down, up], [up, down]] as const) from.on('data', (d) => setTimeout(() => to.destroyed || to.write(d), 60));
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
      down.on('error', () => undefined);
      up.on('error', () => undefined);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    await addStream('far', join(FIXTURES, 'clips', 'clip01-640x360.mp4'), { realtime: true, loop: true });
    const far = await TestClient.open(`ws://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1/ws`);
    try {
      far.send({ type: 'subscribe', id: 'f', stream: 'far', queries: ['circle'] });
      await far.next((m) => m.type === 'detections');
      // held up once: it reads nothing until the server has found it behind
      const before = server.missedResults;
      (far.ws as any)._socket.pause();
      while (server.missedResults === before) await new Promise((r) => setTimeout(r, 50));
      (far.ws as any)._socket.resume();
      await far.next((m) => m.type === 'missed');
      // then the full stream: 30 results in a row with no `missed` between them
      const since = () => far.messages.length - 1 - far.messages.findLastIndex((m: { type: string }) => m.type === 'missed');
      await until(() => since() >= 30, 30_000, '30 results in a row');
      expect(far.messages.slice(-30).every((m: { type: string }) => m.type === 'detections')).toBe(true);
    } finally {
      await far.close();
      await new Promise((r) => proxy.close(r));
      await fetch(`${base}/v1/streams/far`, { method: 'DELETE' });
    }
  });

  it("measures a client that answers WebSocket pings at once but handles messages slowly (a browser page) by the protocol's own ping", async () => {
    await addStream('page', join(FIXTURES, 'clips', 'clip01-640x360.mp4'), { realtime: true, loop: true });
    // ws answers WebSocket pings as they arrive, as a browser's network stack does; the messages
    // themselves are handled one every 60 ms (slower than the 30 a second that come), in order,
    // the protocol's `ping` among them (answered with `pong` when its turn comes, as the SDK does)
    const page = new WebSocket(wsUrl);
    const queue: { type: string; id?: string; frame?: { capturedAt: number } }[] = [];
    const handled: { type: string; age?: number }[] = [];
    page.on('message', (d) => queue.push(JSON.parse(String(d))));
    const worker = setInterval(() => {
      const m = queue.shift();
      if (!m) return;
      if (m.type === 'ping') page.send(JSON.stringify({ type: 'pong', id: m.id }));
      handled.push({ type: m.type, ...(m.frame ? { age: Date.now() - m.frame.capturedAt } : {}) });
    }, 60);
    try {
      await new Promise((r) => page.once('open', r));
      page.send(JSON.stringify({ type: 'subscribe', id: 'p', stream: 'page', queries: ['circle'] }));
      // measured by WebSocket pings alone it would never be behind, and its backlog would only
      // grow; measured by its own answers, it is found behind, then paced: fresh results again
      await until(() => {
        const at = handled.findIndex((m) => m.type === 'missed');
        return at >= 0 && handled.slice(at).some((m) => m.type === 'detections' && m.age! < 500);
      }, 60_000, 'a result under 500 ms old after a missed notice');
    } finally {
      clearInterval(worker);
      page.terminate();
      await fetch(`${base}/v1/streams/page`, { method: 'DELETE' });
    }
  });

  it("takes a lag probe's answer as it arrives, not behind the client's own slow request", async () => {
    await addStream('busy', join(FIXTURES, 'clips', 'clip01-640x360.mp4'), { realtime: true, loop: true });
    const c = new WebSocket(wsUrl);
    const got: { type: string }[] = [];
    c.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'ping') c.send(JSON.stringify({ type: 'pong', id: m.id })); // at once, as the SDK does
      got.push(m);
    });
    try {
      await new Promise((r) => c.once('open', r));
      c.send(JSON.stringify({ type: 'subscribe', id: 'a', stream: 'busy', queries: ['circle'] }));
      await until(() => got.filter((m) => m.type === 'detections').length >= 45, 20_000, 'results'); // (its probes are the protocol's ping by now)
      c.send(JSON.stringify({ type: 'subscribe', id: 'b', stream: 'busy', queries: ['slowly encoded'] }));
      await until(() => got.some((m) => m.type === 'subscribed' && (m as { id?: string }).id === 'b'), 20_000, 'the slow ack');
      expect(got.filter((m) => m.type === 'missed')).toEqual([]);
    } finally {
      c.terminate();
      await fetch(`${base}/v1/streams/busy`, { method: 'DELETE' });
    }
  });

  it('answers bad messages with error replies and carries on', async () => {
    await addStream('pushme', 'push');
    const c = await TestClient.open(wsUrl);
    c.send('{not json');
    expect((await c.next((m) => m.type === 'error')).code).toBe('PROTOCOL_BAD_JSON');
    c.send({ type: 'launch-missiles' });
    expect((await c.nextNew((m) => m.type === 'error')).code).toBe('PROTOCOL_UNKNOWN_TYPE');
    c.send({ type: 'subscribe', id: 'x', stream: 'nope', queries: ['circle'] });
    expect((await c.nextNew((m) => m.type === 'error')).code).toBe('PROTOCOL_STREAM_UNKNOWN');
    c.send({ type: 'subscribe', id: 'y', stream: 'pushme', queries: [] });
    expect((await c.nextNew((m) => m.type === 'error')).code).toBe('PROTOCOL_INVALID_MESSAGE');
    c.send(JSON.stringify({ type: 'ping', id: 'p', pad: 'x'.repeat(100_000) }));
    expect((await c.nextNew((m) => m.type === 'error')).code).toBe('PROTOCOL_MESSAGE_TOO_LARGE');
    c.ws.send(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect((await c.nextNew((m) => m.type === 'error')).code).toMatch(/^PROTOCOL_FRAME_/);
    // a well-formed header around a corrupt image: that frame fails, the stream does not
    c.ws.send(encodeFrame({ stream: 'pushme', seq: 1, capturedAt: Date.now(), format: 'jpeg' }, new Uint8Array([0xff, 0xd8, 0xff, 0, 1, 2, 3])));
    expect((await c.nextNew((m) => m.type === 'error')).ref).toBe('pushme/1');
    c.send({ type: 'ping', id: 'still-here' });
    expect((await c.nextNew((m) => m.type === 'pong')).id).toBe('still-here');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    await c.close();
  });
});

describe('pushed streams', () => {
  it('announce each new image size in a status message, and in the stream list and hello', async () => {
    await addStream('sizes', 'push');
    const c = await TestClient.open(wsUrl);
    c.send({ type: 'subscribe', id: 's', stream: 'sizes', queries: ['circle'] });
    await c.next((m) => m.type === 'subscribed');
    const stills = [
      ['still01-640x360.jpg', 'jpeg', 640, 360],
      ['still02-1280x720.webp', 'webp', 1280, 720],
      ['still04-360x640.jpg', 'jpeg', 360, 640],
    ] as const;
    for (const [i, [file, format, width, height]] of stills.entries()) {
      c.ws.send(encodeFrame({ stream: 'sizes', seq: i, capturedAt: Date.now(), format }, readFileSync(join(FIXTURES, 'stills', file))));
      await c.next((m) => m.type === 'detections' && m.frame.seq === i);
      expect(await c.next((m) => m.type === 'status' && m.stream === 'sizes' && m.width === width)).toMatchObject({ state: 'live', width, height });
    }
    const one = await (await fetch(`${base}/v1/streams/sizes`)).json();
    expect(one).toMatchObject({ width: 360, height: 640 });
    const late = await TestClient.open(wsUrl);
    const hello = late.messages.find((m) => m.type === 'hello');
    expect(hello.streams.find((s: { id: string }) => s.id === 'sizes')).toMatchObject({ width: 360, height: 640 });
    await late.close();
    await c.close();
    await fetch(`${base}/v1/streams/sizes`, { method: 'DELETE' });
  });
});

describe('pushed streams, several clients', () => {
  it('take one pusher at a time (another gets INGEST_PUSH_STREAM_TAKEN), and the next as soon as the first disconnects; hello says the push limits', async () => {
    await addStream('phone', 'push');
    const jpeg = readFileSync(join(FIXTURES, 'stills', 'still01-640x360.jpg'));
    const a = await TestClient.open(wsUrl);
    const b = await TestClient.open(wsUrl);
    const hello = a.messages.find((m) => m.type === 'hello');
    expect(hello.push).toEqual({ maxFps: 60, maxPixels: 3840 * 2160 }); // the server's defaults
    a.send({ type: 'subscribe', id: 's', stream: 'phone', queries: ['circle'] });
    await a.next((m) => m.type === 'subscribed');
    const frame = (seq: number) => encodeFrame({ stream: 'phone', seq, capturedAt: Date.now(), format: 'jpeg' }, jpeg);
    a.ws.send(frame(0));
    expect((await a.next((m) => m.type === 'detections')).frame.seq).toBe(0);
    b.ws.send(frame(0));
    expect(await b.next((m) => m.type === 'error')).toMatchObject({ code: 'INGEST_PUSH_STREAM_TAKEN', ref: 'phone/0' });
    a.ws.send(frame(1));
    expect((await a.next((m) => m.type === 'detections' && m.frame.seq === 1)).timings.decode).toBeGreaterThan(0);
    await a.close();
    const watcher = await TestClient.open(wsUrl);
    watcher.send({ type: 'subscribe', id: 'w', stream: 'phone', queries: ['circle'] });
    await watcher.next((m) => m.type === 'subscribed');
    b.ws.send(frame(7)); // the first pusher is gone: at once, without waiting out the hold
    expect((await watcher.next((m) => m.type === 'detections')).frame.seq).toBe(7);
    expect(b.of('error')).toHaveLength(1);
    await b.close();
    await watcher.close();
    await fetch(`${base}/v1/streams/phone`, { method: 'DELETE' });
  });
});

describe('removed streams', () => {
  it('are announced to every client (the stream list from hello would keep them otherwise)', async () => {
    await addStream('soon-gone', 'push');
    const watcher = await TestClient.open(wsUrl);
    const bystander = await TestClient.open(wsUrl);
    expect(bystander.messages.find((m) => m.type === 'hello').streams.map((s: { id: string }) => s.id)).toContain('soon-gone');
    watcher.send({ type: 'subscribe', id: 's', stream: 'soon-gone', queries: ['circle'] });
    await watcher.next((m) => m.type === 'subscribed');
    expect((await fetch(`${base}/v1/streams/soon-gone`, { method: 'DELETE' })).status).toBe(204);
    for (const c of [watcher, bystander]) {
      expect(await c.next((m) => m.type === 'status' && m.stream === 'soon-gone' && m.state === 'ended')).toMatchObject({ detail: 'removed' });
    }
    expect(await watcher.next((m) => m.type === 'unsubscribed')).toMatchObject({ id: 's', reason: 'stream-removed' });
    await watcher.close();
    await bystander.close();
  });
});

describe('a video file served over HTTP', () => {
  it('is read as a finite source with "live": false, and ends; options that would be ignored are refused', async () => {
    const { startServer } = await import('../ingest/http-server.js');
    const web = await startServer({ '/clip.mp4': { body: readFileSync(join(FIXTURES, 'clips', 'clip01-640x360.mp4')), type: 'video/mp4' } });
    try {
      const post = (body: object) => fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const loop = await post({ id: 'web-loop', source: web.url('/clip.mp4'), loop: true });
      expect([loop.status, (await loop.json()).message]).toEqual([400, 'bad request: "loop" applies to files only']);
      const paced = await post({ id: 'web-live', source: web.url('/clip.mp4'), realtime: true });
      expect(paced.status).toBe(400);
      expect((await post({ id: 'web', source: web.url('/clip.mp4'), live: false, realtime: false })).status).toBe(201);
      let s: { state?: string; stats?: { framesIn: number } } = {};
      while (s.state !== 'ended') {
        await new Promise((r) => setTimeout(r, 50));
        s = await (await fetch(`${base}/v1/streams/web`)).json();
        expect(s.state).not.toBe('failed');
      }
      expect(s.stats?.framesIn).toBe(90); // every frame of the clip, once
      expect(web.hits).toBe(1);
      await fetch(`${base}/v1/streams/web`, { method: 'DELETE' });
    } finally {
      await web.kill();
    }
  });
});

describe('on-demand streams', () => {
  it('stay idle, reading nothing from the camera, until someone subscribes; serve detections then; close again a moment after the last one leaves', async () => {
    // a camera: the clip as MPEG-TS over HTTP, at its own rate
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { startServer } = await import('../ingest/http-server.js');
    const { ffmpegPath } = await import('../../src/ingest/ffmpeg-binary.js');
    const dir = mkdtempSync(join(tmpdir(), 'gs-ondemand-'));
    const ts = join(dir, 'cam.ts');
    execFileSync(ffmpegPath(), ['-nostdin', '-loglevel', 'error', '-i', join(FIXTURES, 'clips', 'clip01-640x360.mp4'), '-c', 'copy', '-f', 'mpegts', ts]);
    const body = readFileSync(ts);
    const camera = await startServer({ '/cam.ts': { body, pace: { bytesPerSecond: body.length / 3, burstBytes: body.length / 3 } } });
    const own = new GroundstreamServer({ config: resolveConfig({ port: 0, onDemandCloseMs: 300 }), model, fileRoots: [FIXTURES] });
    const ownBase = await own.listen();
    const post = (spec: object) => fetch(`${ownBase}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
    try {
      expect((await post({ id: 'cam', source: camera.url('/cam.ts'), onDemand: true })).status).toBe(201);
      const stream = async () => (await (await fetch(`${ownBase}/v1/streams/cam`)).json()) as { state: string; stats: { framesIn: number } };
      await until(async () => (await stream()).state === 'idle', 5000, 'idle');
      await new Promise((r) => setTimeout(r, 300));
      expect([camera.hits, (await stream()).stats.framesIn]).toEqual([0, 0]); // nobody watched: the camera was never asked
      const c = await TestClient.open(`${ownBase.replace('http', 'ws')}/v1/ws`);
      c.send({ type: 'subscribe', id: 's', stream: 'cam', queries: ['purple circle'] });
      await c.next((m) => m.type === 'status' && m.stream === 'cam' && m.state === 'live');
      await c.next((m) => m.type === 'detections');
      c.send({ type: 'unsubscribe', id: 's' });
      await c.next((m) => m.type === 'status' && m.stream === 'cam' && m.state === 'idle');
      const idle = (await stream()).stats.framesIn;
      expect(idle).toBeGreaterThan(0);
      const hits = camera.hits;
      await new Promise((r) => setTimeout(r, 300));
      expect([camera.hits, (await stream()).stats.framesIn]).toEqual([hits, idle]); // closed: no more reading
      // the same client again: it opens, and results carry on
      c.send({ type: 'subscribe', id: 's2', stream: 'cam', queries: ['purple circle'] });
      expect(await c.nextNew((m) => m.type === 'detections')).toMatchObject({ subscription: 's2', stream: 'cam' });
      await c.close();
      // a file would start again from its beginning each time: refused, as is a finite URL
      for (const spec of [
        { id: 'f', source: 'clips/clip01-640x360.mp4', loop: true, onDemand: true },
        { id: 'u', source: camera.url('/cam.ts'), live: false, onDemand: true },
      ]) {
        const r = await post(spec);
        expect([r.status, (await r.json()).message]).toEqual([400, expect.stringContaining('"onDemand" applies to live sources only')]);
      }
    } finally {
      await own.close();
      await camera.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
