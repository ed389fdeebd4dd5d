/**
 * The lag probe (text-frames.ts) over real sockets, with clients that do what RFC 6455 allows:
 * answer only the newest of several pings, sit far away, or (against the RFC) not echo pings. A
 * stream of small results at 30 a second goes through an Outbox, as the server sends them.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { Outbox } from '../../src/server/outbox.js';
import { framedParts, type FramedTarget } from '../../src/server/text-frames.js';
import { attachWebSocket } from '../../src/server/ws-server.js';
import { lagPongId } from '../../src/server/server.js';
import { exactLagPong, LagProbe } from '../../src/server/lag-probe.js';
import { until } from '../client/fake-server.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** The server side of a connection: its socket and its send target. */
const accepted: { ws: WebSocket; target: FramedTarget }[] = [];

/** A server that offers a result every 33 ms to each client; its port. */
async function start(maxLagMs: number, pingIntervalMs = 60_000) {
  const http: Server = createHttpServer();
  const boxes: Outbox[] = [];
  accepted.length = 0;
  const ws = attachWebSocket(http, { path: '/v1/ws', maxPayload: 1 << 20, pingIntervalMs, maxLagMs }, {
    open(socket, _req, target) {
      boxes.push(new Outbox(target, 1 << 20));
      accepted.push({ ws: socket, target });
      target.lag.greeted(); // (as server.ts does once hello has gone; this server sends none)
      // as server.ts takes a client's `pong` message that answers a lag probe
      return { text: (d: Buffer) => target.lag.appPong(lagPongId(d)), binary() {}, close() {} };
    },
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  let seq = 0;
  const timer = setInterval(() => {
    const frame = framedParts(Buffer.from(JSON.stringify({ type: 'detections', seq: seq++, t: Date.now() })));
    for (const b of boxes) b.offer('s', frame);
  }, 33);
  closers.push(() => new Promise((r) => http.close(r)), () => ws.close(), () => clearInterval(timer));
  return (http.address() as AddressInfo).port;
}

/** A TCP relay that delays every chunk by `ms` each way. */
async function delayed(port: number, ms: number): Promise<number> {
  const proxy = createServer((down) => {
    const up = connect(port, '127.0.0.1');
    for (const [from, to] of [[down, up], [up, down]] as const) from.on('data', (d) => setTimeout(() => to.destroyed || to.write(d), ms));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => undefined);
    up.on('error', () => undefined);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => proxy.close(r)));
  return (proxy.address() as AddressInfo).port;
}

/** A client; what it received, in order ('missed' notices and result seqs). */
async function client(port: number, options: ConstructorParameters<typeof WebSocket>[2] = {}, onPing?: (ws: WebSocket, data: Buffer) => void) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, options);
  if (onPing) ws.on('ping', (d) => onPing(ws, d));
  const got: ({ type: 'missed'; count: number } | { type: 'detections'; seq: number })[] = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d))));
  await new Promise((r) => ws.once('open', r));
  closers.push(() => ws.terminate());
  /** Results since the last missed notice. */
  const streak = () => got.length - 1 - got.findLastIndex((m) => m.type === 'missed');
  const stall = async (ms: number) => {
    (ws as any)._socket.pause();
    await new Promise((r) => setTimeout(r, ms));
    (ws as any)._socket.resume();
  };
  return { ws, got, streak, stall };
}

describe('exactLagPong: the answer to a probe as the SDK writes it, taken without the schema', () => {
  const b = (s: string) => Buffer.from(s);
  it('reads the probe id of exactly {"type":"pong","id":"lag<N>"}, as the SDK sends it', () => {
    expect(exactLagPong(b(JSON.stringify({ type: 'pong', id: 'lag0' })))).toBe('lag0');
    expect(exactLagPong(b('{"type":"pong","id":"lag4294967295"}'))).toBe('lag4294967295');
  });
  it('leaves every other message to the usual path (parsed, checked, answered in turn)', () => {
    for (const text of [
      '{"type":"pong","id":"lag"}', // no number
      '{"type":"pong","id":"lag12345678901"}', // 11 digits
      '{"type":"pong","id":"lag1x"}',
      '{"type":"pong","id":"lag1","t":5}', // more fields: the schema decides
      '{"type":"pong", "id":"lag1"}', // other spacing
      '{"id":"lag1","type":"pong"}', // other order
      '{"type":"ping","id":"lag1"}',
      '{"type":"pong","id":"lag1"', // cut short
      '{"type":"pong","id":"lag1"}\n',
      '{"type":"pong","id":"s1"}',
      '',
    ])
      expect(exactLagPong(b(text)), text).toBeUndefined();
    // the slower path still finds the id where the JSON says it
    expect(lagPongId(b('{"id":"lag1","type":"pong"}'))).toBe('lag1');
  });
});

describe('LagProbe on a fake connection and clock', () => {
  afterEach(() => vi.useRealTimers());
  /** A probe over a channel that records what it writes; `pong(id)` answers probe `id` as a WebSocket pong. */
  function probe(maxLagMs: number) {
    vi.useFakeTimers({ toFake: ['performance'] });
    let onPong: (d: Buffer) => void = () => undefined;
    const pings: number[] = [];
    const texts: string[] = [];
    const ws = { readyState: WebSocket.OPEN, isPaused: false, on: (_e: string, f: (d: Buffer) => void) => (onPong = f), ping() {} };
    const lag = new LagProbe(
      {
        ws: ws as unknown as WebSocket,
        writeRaw: (frame) => (pings.push(frame.readUInt32BE(3)), true), // 2 header bytes, the tag, then the id
        sendText: (t) => void texts.push(t),
        flushQueued() {},
      },
      maxLagMs,
    );
    const pong = (id: number) => {
      const b = Buffer.alloc(5);
      b[0] = 0x70;
      b.writeUInt32BE(id, 1);
      onPong(b);
    };
    return { lag, pings, texts, pong };
  }

  it("tries the protocol's ping right after hello, before any result, and never before hello", () => {
    const { lag, texts } = probe(1000);
    expect(texts).toEqual([]); // the probe at connection open goes before hello: a WebSocket ping only
    lag.wrote(); // hello
    lag.greeted();
    expect(texts).toEqual(['{"type":"ping","id":"lag1"}']);
  });

  it('sends the next probe every maxLagMs / 2 even while one is out (at most four), so that falling behind shows within maxLagMs of it', () => {
    const { lag, pings, pong } = probe(1000);
    vi.advanceTimersByTime(2);
    pong(0); // the link: 2 ms
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(500);
      lag.wrote();
      if (lag.due()) lag.probe();
    }
    expect(pings).toEqual([0, 1, 2, 3, 4]); // none answered since the first: four out, then no more
    expect(lag.lagging()).toBe(true); // the oldest has been out 2.5 s
  });

  it('finds a client behind as soon as it answers a probe late, not one probe later', () => {
    const { lag, pings, pong } = probe(1000);
    vi.advanceTimersByTime(2);
    pong(0); // the link: 2 ms
    lag.wrote(); // a result
    lag.probeNow(); // probe 1
    expect(pings).toEqual([0, 1]);
    vi.advanceTimersByTime(1500);
    pong(1); // answered, 1.5 s after it went: the client had that much to read before it
    expect(lag.lagging()).toBe(true); // results wait until it has read what was sent since
    expect(pings).toEqual([0, 1, 2]); // the probe that says when it has
    pong(2);
    expect(lag.lagging()).toBe(false);
    // an answer within maxLagMs of the link's round trip is no lag
    lag.wrote();
    lag.probeNow();
    vi.advanceTimersByTime(900);
    pong(3);
    expect(lag.lagging()).toBe(false);
  });
});

describe('the lag probe, over real sockets', () => {
  it('works with a client that answers only the newest of its pings (RFC 6455 5.5.3)', async () => {
    const port = await start(300);
    let newest: Buffer | null = null;
    const c = await client(port, { autoPong: false }, (ws, d) => {
      if (!newest) setImmediate(() => (ws.pong(newest!), (newest = null)));
      newest = d;
    });
    await until(() => c.got.length >= 10, 10_000, 'results');
    await c.stall(1000); // behind: paced, then the full stream again
    await until(() => c.got.some((m) => m.type === 'missed'), 10_000, 'a missed notice');
    await until(() => c.streak() >= 30, 20_000, '30 results in a row');
  });

  it("sends the keep-alive's pings as probes, so that a client answering only the newest ping answers ours", async () => {
    // clientMaxLagMs so long that no probe of the results' own goes in the test's time: every ping
    // after the first (sent at connection open) is the keep-alive's, every 200 ms
    const port = await start(600_000, 200);
    const pings: Buffer[] = [];
    await client(port, {}, (_ws, d) => pings.push(d));
    await until(() => pings.length >= 4, 10_000, 'four pings');
    for (const p of pings) expect([p.length, p[0]]).toEqual([5, 0x70]); // "p" and a number
    const ids = pings.map((p) => p.readUInt32BE(1));
    expect(ids).toEqual(ids.map((_, i) => ids[0]! + i)); // counting up
  });

  it('keeps measuring a client that sends pongs of its own as a heartbeat (RFC 6455 allows it)', async () => {
    const port = await start(300);
    const c = await client(port);
    await until(() => c.got.length >= 10, 10_000, 'results');
    const beat = setInterval(() => c.ws.pong('heartbeat'), 100);
    closers.push(() => clearInterval(beat));
    await c.stall(1500);
    // still measured: found behind, so a missed notice (bytes alone never get there)
    await until(() => c.got.some((m) => m.type === 'missed'), 10_000, 'a missed notice');
  });

  it("does not count against a client the time the server stopped reading it (its answers waited unread)", async () => {
    const port = await start(300);
    const c = await client(port);
    await until(() => c.got.length >= 10, 10_000, 'results');
    const { ws, target } = accepted[0]!;
    ws.pause(); // as server.ts does when too many of a client's requests wait
    await new Promise((r) => setTimeout(r, 1500));
    ws.resume();
    target.lag.readingResumed();
    const before = c.got.length;
    await until(() => c.got.length >= before + 30, 10_000, '30 more results');
    expect(c.got.filter((m) => m.type === 'missed')).toEqual([]);
  });

  it("goes back to WebSocket probes for a client that stops answering the protocol's ping (it is not starved)", async () => {
    const port = await start(200, 500);
    const c = await client(port);
    let answered = 0;
    c.ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'ping' && answered++ === 0) c.ws.send(JSON.stringify({ type: 'pong', id: m.id })); // the first only
    });
    await until(() => c.got.length >= 30, 10_000, 'results');
    // its later pings unanswered: found behind, results wait; then, 10 x clientMaxLagMs on, the
    // keep-alive's WebSocket pong shows it reads, and results come again
    const before = c.got.length;
    await until(() => c.got.length >= before + 60, 30_000, '60 more results');
    expect(answered).toBeGreaterThan(1);
  });

  it('ignores answers to probes never sent (a client cannot answer ahead to hide that it is behind)', async () => {
    const port = await start(300);
    const c = await client(port);
    await until(() => c.got.length >= 10, 10_000, 'results');
    const forge = setInterval(() => c.ws.send(JSON.stringify({ type: 'pong', id: 'lag99999999' })), 50);
    closers.push(() => clearInterval(forge));
    await c.stall(1500);
    await until(() => c.got.some((m) => m.type === 'missed'), 10_000, 'a missed notice');
  });

  it('takes a far client (600 ms each way, more than clientMaxLagMs) for what it is: not behind', async () => {
    // (clientMaxLagMs 500: a busy test machine's hiccups stay under it)
    const port = await delayed(await start(500), 600);
    const c = await client(port);
    await until(() => c.got.length >= 60, 20_000, '60 results');
    expect(c.got.filter((m) => m.type === 'missed')).toEqual([]);
  });

  it('falls back to bytes alone for a client that does not echo pings, and keeps sending it results', async () => {
    const port = await start(200);
    const c = await client(port, { autoPong: false }, (ws) => ws.pong()); // an empty pong: no echo (against the RFC)
    // its probes are never answered: without the fallback, the first is taken as lag once the
    // first-answer grace (5 s) is over, and results stop for good
    await until(() => c.got.length >= 200, 30_000, '200 results');
    expect(c.got.filter((m) => m.type === 'missed')).toEqual([]);
  });
});
