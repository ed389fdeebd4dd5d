import type { Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import {
  ConnectionRejectedError,
  GroundstreamClient,
  RemoteError,
  type ConnectionState,
  type DecodedFrame,
  type DetectionsMessage,
  type GroundstreamClientOptions,
  type MissedMessage,
  type WebSocketConstructor,
} from '../../src/client/index.js';
import { encodeFrame } from '../../src/protocol/index.js';
import { FakeServer, until } from './fake-server.js';

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9]);
const fast = { initialMs: 10, maxMs: 50, factor: 2, jitter: 0 };

let server: FakeServer;
const clients: GroundstreamClient[] = [];

function makeClient(options: Partial<GroundstreamClientOptions> = {}): GroundstreamClient {
  const client = new GroundstreamClient({ url: server.url, reconnect: fast, ...options });
  clients.push(client);
  return client;
}

function collect<T>(source: Observable<T>) {
  const out = { values: [] as T[], error: undefined as unknown, completed: false };
  source.subscribe({
    next: (v) => out.values.push(v),
    error: (e) => (out.error = e),
    complete: () => (out.completed = true),
  });
  return out;
}

/** A client subscribed to cam1 with ['a'] whose connection has just dropped (it reconnects after
 * 200 ms); `beforeDrop` changes the server first. */
async function subscribedThenDropped(beforeDrop?: () => void) {
  const client = makeClient({ reconnect: { ...fast, initialMs: 200, maxMs: 200 } });
  await client.connect();
  const sub = client.subscribe({ stream: 'cam1', queries: ['a'] });
  const got = collect<DetectionsMessage>(sub.detections$);
  await until(() => server.last.subscriptions.get(sub.id), 5000, 'subscribe');
  beforeDrop?.();
  server.dropAll();
  await until(() => client.state === 'reconnecting', 5000, 'reconnecting');
  return { client, sub, got };
}

beforeEach(async () => {
  server = await FakeServer.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

describe('GroundstreamClient against a real socket', () => {
  it('connects to /v1/ws through ws in Node, and lists the streams from hello', async () => {
    expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined(); // Node 20: the ws fallback runs
    const client = makeClient({ token: 'sekret-token' });
    const states = collect<ConnectionState>(client.status$);
    const hello = await client.connect();
    expect(hello.model.name).toBe('fake');
    expect(client.url).toBe(`${server.url}/v1/ws`);
    expect(server.last.protocol).toBe('groundstream.v1');
    expect(server.last.token).toBe('sekret-token');
    expect(states.values).toEqual(['idle', 'connecting', 'open']);
    const streams = collect(client.streams$);
    expect(streams.values.at(-1)?.map((s) => s.id)).toEqual(['cam1', 'cam2']);
  });

  it('subscribes and delivers results as an Observable', async () => {
    const client = makeClient();
    const sub = client.subscribe({ stream: 'cam1', queries: ['Red  Circle'], threshold: 0.3 });
    const got = collect<DetectionsMessage>(sub.detections$);
    await client.connect(); // subscriptions made before connect() go out on connect
    const ack = await until(() => server.last.subscriptions.get(sub.id), 5000, 'subscribe');
    expect(server.received[0]).toEqual({ type: 'subscribe', id: sub.id, stream: 'cam1', queries: ['red circle'], threshold: 0.3 });
    expect(ack.queryVersion).toBe(1);
    server.sendDetections(sub.id, 1);
    server.sendDetections(sub.id, 2);
    await until(() => got.values.length === 2, 5000, 'two results');
    expect(got.values.map((d) => d.frame.seq)).toEqual([1, 2]);
    expect(got.values[0]!.detections).toEqual([{ query: 'red circle', score: 0.9, box: [0, 0, 10, 10] }]);
    expect(sub.settings.queries).toEqual(['red circle']); // normalised by the server's ack
  });

  it('updates a live subscription: acked with a new queryVersion, stale results dropped', async () => {
    const client = makeClient();
    await client.connect();
    const sub = client.subscribe({ stream: 'cam1', queries: ['red circle'] });
    const got = collect<DetectionsMessage>(sub.detections$);
    await until(() => server.last.subscriptions.get(sub.id), 5000, 'subscribe');
    const ack = await sub.update({ queries: ['blue square', 'red circle'], threshold: 0.5 });
    expect(ack).toMatchObject({ queryVersion: 2, queries: ['blue square', 'red circle'], threshold: 0.5 });
    expect(server.received.at(-1)).toEqual({ type: 'update', id: sub.id, queries: ['blue square', 'red circle'], threshold: 0.5 });
    server.sendDetections(sub.id, 10, 1); // computed before the update: stale
    server.sendDetections(sub.id, 11);
    await until(() => got.values.length >= 1, 5000, 'a result');
    await new Promise((r) => setTimeout(r, 20));
    expect(got.values.map((d) => [d.frame.seq, d.queryVersion])).toEqual([[11, 2]]);
  });

  it('reconnects with backoff after the server drops the connection, and re-subscribes with current settings', async () => {
    const client = makeClient();
    const states = collect<ConnectionState>(client.status$);
    await client.connect();
    const sub = client.subscribe({ stream: 'cam1', queries: ['red circle'] });
    const got = collect<DetectionsMessage>(sub.detections$);
    const acks = collect(sub.subscribed$);
    await until(() => acks.values.length === 1, 5000, 'first ack');
    await sub.update({ queries: ['green triangle'] });
    server.sendDetections(sub.id, 1);
    await until(() => got.values.length === 1, 5000, 'first result');

    server.dropAll();
    await until(() => server.connections.length === 2 && server.last.subscriptions.has(sub.id), 5000, 're-subscribe');
    expect(server.last.received[0]).toEqual({ type: 'subscribe', id: sub.id, stream: 'cam1', queries: ['green triangle'] });
    server.sendDetections(sub.id, 2);
    await until(() => got.values.length === 2, 5000, 'result after reconnect');
    // the server counts versions per connection (1 again); the SDK's keep rising (2 before, 3 now)
    expect(got.values[0]).toMatchObject({ frame: { seq: 1 }, queryVersion: 2 });
    expect(got.values[1]).toMatchObject({ frame: { seq: 2 }, queryVersion: 3, detections: [{ query: 'green triangle' }] });
    expect(acks.values.map((a) => a.queryVersion)).toEqual([1, 2, 3]);
    expect(got.completed).toBe(false);
    expect(got.error).toBeUndefined();
    expect(states.values).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'open']);
  });

  it('sends changes made while disconnected after the re-subscribe, each as its own update, and resolves each with its ack', async () => {
    const { sub } = await subscribedThenDropped();
    const first = sub.update({ threshold: 0.7 });
    const second = sub.update({ queries: ['b'] });
    expect(sub.settings).toMatchObject({ queries: ['b'], threshold: 0.7 }); // what it asks for, pending included
    // (the first connection showed version 1; this one's 1, 2, 3 show as 2, 3, 4)
    expect(await first).toMatchObject({ threshold: 0.7, queryVersion: 3, queries: ['a'] });
    expect(await second).toMatchObject({ threshold: 0.7, queryVersion: 4, queries: ['b'] });
    expect(server.last.received).toEqual([
      { type: 'subscribe', id: sub.id, stream: 'cam1', queries: ['a'] },
      { type: 'update', id: sub.id, threshold: 0.7 },
      { type: 'update', id: sub.id, queries: ['b'] },
    ]);
  });

  it('after a reconnect, holds back results for the old settings until the changes made meanwhile are acked', async () => {
    const { sub, got } = await subscribedThenDropped();
    server.holdUpdates = true;
    const change = sub.update({ queries: ['b'] });
    await until(() => server.connections.length === 2 && server.last.subscriptions.get(sub.id), 5000, 're-subscribe');
    await until(() => server.last.received.length === 2, 5000, 'the update, held');
    server.sendDetections(sub.id, 7); // computed for 'a', which the caller has replaced
    server.releaseUpdates();
    await change;
    server.sendDetections(sub.id, 8);
    await until(() => got.values.length === 1, 5000, 'the result for the new settings');
    expect(got.values.map((m) => [m.frame.seq, m.queryVersion])).toEqual([[8, 3]]);
  });

  it('a refused re-subscribe ends the subscription, without stray errors for the changes sent behind it', async () => {
    const { client, sub, got } = await subscribedThenDropped(() => (server.streams = []));
    const errors = collect(client.errors$);
    const first = sub.update({ threshold: 0.3 });
    const second = sub.update({ threshold: 0.4 });
    await expect(first).rejects.toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN' });
    await expect(second).rejects.toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN' });
    expect(got.error).toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN' });
    // the server answered both updates too (no such subscription); a ping's pong comes after them
    const other = client.subscribe({ stream: 'nowhere', queries: ['x'] }); // one more refusal, in order behind them
    await until(() => other.closed, 5000, 'the later refusal');
    expect(server.last.received.filter((m) => m.type === 'update')).toHaveLength(2);
    expect(errors.values).toEqual([]);
  });

  it('rejects only the change the server refuses after a reconnect; the subscription lives on with the rest', async () => {
    const { sub, got } = await subscribedThenDropped();
    const refused = sub.update({ queries: ['forbidden'] });
    const fine = sub.update({ threshold: 0.5 });
    await expect(refused).rejects.toMatchObject({ code: 'QUERY_INVALID', ref: sub.id });
    await expect(fine).resolves.toMatchObject({ queries: ['a'], threshold: 0.5 });
    expect(sub.closed).toBe(false);
    expect(sub.settings).toMatchObject({ queries: ['a'], threshold: 0.5 });
    server.sendDetections(sub.id, 9);
    await until(() => got.values.length === 1, 5000, 'result after the refusal');
    expect(got.error).toBeUndefined();
  });

  it('fails the subscription the server refuses, and only that one', async () => {
    const client = makeClient();
    await client.connect();
    const bad = client.subscribe({ stream: 'nowhere', queries: ['x'] });
    const good = client.subscribe({ stream: 'cam2', queries: ['x'] });
    const badResults = collect(bad.detections$);
    const goodResults = collect(good.detections$);
    await until(() => badResults.error, 5000, 'refusal');
    expect(badResults.error).toBeInstanceOf(RemoteError);
    expect(badResults.error).toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN', ref: bad.id });
    expect(bad.closed).toBe(true);
    await until(() => server.last.subscriptions.get(good.id), 5000, 'good subscribe');
    server.sendDetections(good.id, 5);
    await until(() => goodResults.values.length === 1, 5000, 'good result');
  });

  it('rejects an update the server refuses and keeps the acked settings', async () => {
    const client = makeClient();
    await client.connect();
    const sub = client.subscribe({ stream: 'cam1', queries: ['ok'] });
    await until(() => server.last.subscriptions.get(sub.id), 5000, 'subscribe');
    await expect(sub.update({ queries: ['forbidden'] })).rejects.toMatchObject({ code: 'QUERY_INVALID', ref: sub.id });
    expect(sub.settings.queries).toEqual(['ok']);
    expect(sub.closed).toBe(false);
    await expect(sub.update({ threshold: 0.9 })).resolves.toMatchObject({ queryVersion: 2, queries: ['ok'] });
  });

  it('unsubscribes: tells the server and completes the observables', async () => {
    const client = makeClient();
    await client.connect();
    const sub = client.subscribe({ stream: 'cam1', queries: ['x'] });
    const got = collect(sub.detections$);
    await until(() => server.last.subscriptions.get(sub.id), 5000, 'subscribe');
    sub.unsubscribe();
    expect(got.completed).toBe(true);
    await until(() => !server.last.subscriptions.has(sub.id), 5000, 'unsubscribe');
    expect(server.received.at(-1)).toEqual({ type: 'unsubscribe', id: sub.id });
    await expect(sub.update({ threshold: 0.5 })).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('unsubscribing with requests unanswered: their answers, refusals included, are nobody\'s news', async () => {
    const client = makeClient();
    await client.connect();
    const errors = collect(client.errors$);
    const refused = client.subscribe({ stream: 'nowhere', queries: ['x'] }); // refused, but gone first
    refused.unsubscribe();
    const sub = client.subscribe({ stream: 'cam1', queries: ['x'] });
    await sub.accepted;
    const change = sub.update({ queries: ['forbidden'] }); // refused, but gone first
    sub.unsubscribe();
    await expect(change).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    // a later refusal, answered after all of theirs: by then every one of them has come
    const later = client.subscribe({ stream: 'nowhere', queries: ['x'] });
    await expect(later.accepted).rejects.toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN' });
    expect(server.last.received.map((m) => m.type)).toEqual(['subscribe', 'unsubscribe', 'subscribe', 'update', 'unsubscribe', 'subscribe']);
    expect(errors.values).toEqual([]);
    // an error about nothing that was given up on is still reported
    server.last.socket.send(JSON.stringify({ type: 'error', code: 'PROTOCOL_SUBSCRIPTION_UNKNOWN', message: 'no such subscription', ref: 'never-made' }));
    await until(() => errors.values.length === 1, 5000, 'the unowned error');
    expect(errors.values[0]).toMatchObject({ code: 'PROTOCOL_SUBSCRIPTION_UNKNOWN', ref: 'never-made' });
  });

  it('accepted: the first ack, the refusal, or CLIENT_CLOSED when the subscription ended first', async () => {
    const client = makeClient();
    await client.connect();
    const good = client.subscribe({ stream: 'cam1', queries: ['x'] });
    await expect(good.accepted).resolves.toMatchObject({ id: good.id, queries: ['x'], queryVersion: 1 });
    await good.update({ threshold: 0.5 });
    await expect(good.accepted).resolves.toMatchObject({ queryVersion: 1 }); // the first, for good
    const bad = client.subscribe({ stream: 'nowhere', queries: ['x'] });
    const error = await bad.accepted.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN', ref: bad.id });
    const quick = client.subscribe({ stream: 'cam1', queries: ['x'] });
    quick.unsubscribe();
    await expect(quick.accepted).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('completes a subscription the server ends (its stream ended)', async () => {
    const client = makeClient();
    await client.connect();
    const sub = client.subscribe({ stream: 'cam1', queries: ['x'] });
    const got = collect(sub.detections$);
    await until(() => server.last.subscriptions.get(sub.id), 5000, 'subscribe');
    expect(sub.endReason).toBeUndefined();
    server.send({ type: 'unsubscribed', id: sub.id, reason: 'stream-ended' });
    await until(() => got.completed, 5000, 'completion');
    expect(got.error).toBeUndefined();
    expect(sub.endReason).toBe('stream-ended');
    const mine = client.subscribe({ stream: 'cam1', queries: ['y'] });
    mine.unsubscribe();
    expect(mine.endReason).toBe('unsubscribed');
  });

  it('answers to a subscription\'s requests that come after the server ended it are nobody\'s news', async () => {
    const client = makeClient();
    await client.connect();
    const errors = collect(client.errors$);
    const sub = client.subscribe({ stream: 'cam1', queries: ['x'] });
    await sub.accepted;
    server.holdUpdates = true;
    const change = sub.update({ threshold: 0.5 }).catch((e: unknown) => e);
    await until(() => server.last.received.some((m) => m.type === 'update'), 5000, 'the update');
    // the stream ends while the server still holds the update: it answers it after, unknown now
    server.last.subscriptions.delete(sub.id);
    server.send({ type: 'unsubscribed', id: sub.id, reason: 'stream-ended' });
    await until(() => sub.closed, 5000, 'the end');
    server.releaseUpdates();
    expect(await change).toMatchObject({ code: 'CLIENT_CLOSED' });
    const later = client.subscribe({ stream: 'nowhere', queries: ['x'] }); // answered after it
    await expect(later.accepted).rejects.toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN' });
    expect(sub.endReason).toBe('stream-ended');
    expect(errors.values).toEqual([]);
  });

  it('reports missed results, stream status and unowned server errors', async () => {
    const client = makeClient();
    await client.connect();
    const sub = client.subscribe({ stream: 'cam1', queries: ['x'] });
    const missed = collect<MissedMessage>(sub.missed$);
    const errors = collect<Error>(client.errors$);
    const streams = collect(client.streams$);
    await until(() => server.last.subscriptions.get(sub.id), 5000, 'subscribe');
    server.send({ type: 'missed', subscription: sub.id, count: 4 });
    server.send({ type: 'status', stream: 'cam2', state: 'stalled', detail: 'no frames' });
    server.send({ type: 'error', code: 'PROTOCOL_STREAM_NOT_PUSHABLE', message: 'nope', ref: 'cam1/3' });
    server.send({ type: 'from-the-future' } as never);
    await until(() => missed.values.length && errors.values.length && streams.values.length > 1, 5000, 'notices');
    expect(missed.values).toEqual([{ type: 'missed', subscription: sub.id, count: 4 }]);
    expect(streams.values.at(-1)).toEqual([
      { id: 'cam1', state: 'live', width: 640, height: 480 },
      { id: 'cam2', state: 'stalled', width: 640, height: 480 },
    ]);
    expect(errors.values).toHaveLength(1); // the unknown message type is ignored
    expect(errors.values[0]).toMatchObject({ code: 'PROTOCOL_STREAM_NOT_PUSHABLE', ref: 'cam1/3' });
  });

  it('answers server pings with pongs', async () => {
    const client = makeClient();
    await client.connect();
    const pongs: unknown[] = [];
    server.last.socket.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { type: string };
      if (msg.type === 'pong') pongs.push(msg);
    });
    server.send({ type: 'ping', id: 'srv1', t: 123 });
    await until(() => pongs.length, 5000, 'pong');
    expect(pongs).toEqual([{ type: 'pong', id: 'srv1', t: 123 }]);
  });

  it('pushes frames as binary messages, and drops them while disconnected', async () => {
    const client = makeClient();
    expect(client.pushFrame('cam1', JPEG, { format: 'jpeg', seq: 0 })).toBe(false);
    await client.connect();
    // capturedAt is ms since the epoch: a value in seconds (or since boot) is refused here
    expect(() => client.pushFrame('cam1', JPEG, { format: 'jpeg', seq: 7, capturedAt: 1_718_000_000.5 })).toThrow(expect.objectContaining({ code: 'PROTOCOL_FRAME_BAD_TIME' }));
    expect(client.pushFrame('cam1', JPEG, { format: 'jpeg', seq: 7, capturedAt: 1_718_000_000_000.5 })).toBe(true);
    await until(() => server.frames.length, 5000, 'frame');
    expect(server.frames[0]).toEqual({ stream: 'cam1', seq: 7, capturedAt: 1_718_000_000_000.5, format: 'jpeg', data: JPEG });
    expect(() => client.pushFrame('cam1', JPEG, { format: 'png', seq: 8 })).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_FRAME_FORMAT_MISMATCH' }),
    );
    // with no options: the format read from the bytes, seq counting on from the last one, per stream
    expect(client.pushFrame('cam1', JPEG)).toBe(true);
    expect(client.pushFrame('cam1', JPEG)).toBe(true);
    expect(client.pushFrame('cam2', JPEG)).toBe(true);
    // an ArrayBuffer (a browser's Blob.arrayBuffer(), a canvas's export) goes as its bytes
    expect(client.pushFrame('cam2', JPEG.buffer.slice(JPEG.byteOffset, JPEG.byteOffset + JPEG.byteLength) as ArrayBuffer)).toBe(true);
    await until(() => server.frames.length >= 5, 5000, 'frames');
    expect(server.frames.slice(1).map((f: { stream: string; seq: number; format: string }) => [f.stream, f.seq, f.format])).toEqual([
      ['cam1', 8, 'jpeg'],
      ['cam1', 9, 'jpeg'],
      ['cam2', 0, 'jpeg'],
      ['cam2', 1, 'jpeg'],
    ]);
    expect(server.frames[4].data).toEqual(JPEG);
    expect(() => client.pushFrame('cam1', 'not bytes' as never)).toThrow(expect.objectContaining({ code: 'PROTOCOL_FRAME_EMPTY', message: expect.stringContaining('not string') }));
    expect(() => client.pushFrame('cam1', new Uint8Array([1, 2, 3, 4]))).toThrow(expect.objectContaining({ code: 'PROTOCOL_FRAME_UNKNOWN_FORMAT' }));
    expect(() => client.pushFrame('cam1', new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'PROTOCOL_FRAME_EMPTY' }));
  });

  it('drops pushed frames while the socket buffer is over the high-water mark', async () => {
    const client = makeClient({ pushHighWaterMark: 0 });
    await client.connect();
    const big = new Uint8Array(4 << 20);
    big.set(JPEG);
    const sent = Array.from({ length: 20 }, (_, seq) => client.pushFrame('cam1', big, { format: 'jpeg', seq }));
    expect(sent[0]).toBe(true);
    expect(sent).toContain(false);
  });

  it('routes viewer images to subscriptions that asked for them', async () => {
    const client = makeClient();
    await client.connect();
    const viewer = client.subscribe({ stream: 'cam1', queries: ['x'], image: { maxWidth: 320 } });
    const plain = client.subscribe({ stream: 'cam1', queries: ['y'] });
    const images = collect<DecodedFrame>(viewer.images$);
    const none = collect<DecodedFrame>(plain.images$);
    await until(() => server.last.subscriptions.size === 2, 5000, 'subscribes');
    expect(server.last.received[0]).toMatchObject({ image: { maxWidth: 320 } });
    server.last.socket.send(encodeFrame({ stream: 'cam1', seq: 3, capturedAt: 99, format: 'jpeg' }, JPEG));
    await until(() => images.values.length, 5000, 'image');
    expect(images.values[0]).toMatchObject({ stream: 'cam1', seq: 3, format: 'jpeg' });
    expect([...images.values[0]!.data]).toEqual([...JPEG]);
    expect(none.values).toEqual([]);
  });

  it('drops a silent connection after the heartbeat timeout and reconnects', async () => {
    server.silent = true;
    const client = makeClient({ heartbeat: { intervalMs: 30, timeoutMs: 30 } });
    await client.connect();
    await until(() => server.connections.length >= 2, 5000, 'second connection');
    expect(server.received.some((m) => m.type === 'ping')).toBe(true);
  });

  it('accepts a WebSocket constructor override', async () => {
    let made = 0;
    const Counting = class extends WsWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        made++;
      }
    };
    const client = makeClient({ WebSocket: Counting satisfies WebSocketConstructor });
    await client.connect();
    expect(made).toBe(1);
  });

  it('close() completes everything and never reconnects', async () => {
    const client = makeClient();
    await client.connect();
    const sub = client.subscribe({ stream: 'cam1', queries: ['x'] });
    const got = collect(sub.detections$);
    const states = collect<ConnectionState>(client.status$);
    client.close();
    expect(got.completed).toBe(true);
    expect(states.values.at(-1)).toBe('closed');
    expect(states.completed).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.connections).toHaveLength(1);
    await expect(client.connect()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(() => client.subscribe({ stream: 'cam1', queries: ['x'] })).toThrow(expect.objectContaining({ code: 'CLIENT_CLOSED' }));
  });

  it('gives up after maxAttempts when nobody listens', async () => {
    const url = server.url;
    await server.close();
    server = await FakeServer.start(); // afterEach closes this one
    let attempts = 0;
    const client = makeClient({ url, reconnect: { ...fast, maxAttempts: 2 }, token: () => `t${++attempts}` });
    const sub = client.subscribe({ stream: 'cam1', queries: ['x'] });
    const got = collect(sub.detections$);
    await expect(client.connect()).rejects.toMatchObject({ code: 'CLIENT_RECONNECT_EXHAUSTED', message: expect.stringContaining('2 retries failed') });
    expect(client.state).toBe('closed');
    expect(got.error).toMatchObject({ code: 'CLIENT_RECONNECT_EXHAUSTED' });
    expect(attempts).toBe(3); // the first connection, then maxAttempts retries
    const once = makeClient({ url, reconnect: false });
    await expect(once.connect()).rejects.toMatchObject({ message: expect.stringContaining('the connection failed or was lost, and reconnecting is off') });
  });

  it('stops for good when the server refuses the connection (close code 4001)', async () => {
    const client = makeClient();
    await client.connect();
    const sub = client.subscribe({ stream: 'cam1', queries: ['x'] });
    const got = collect(sub.detections$);
    server.last.socket.close(4001, 'bad token');
    await until(() => client.state === 'closed', 5000, 'closed');
    // the close code and reason are fields, not only words in the message
    expect(got.error).toBeInstanceOf(ConnectionRejectedError);
    expect(got.error).toMatchObject({ code: 'CLIENT_CONNECTION_REJECTED', closeCode: 4001, closeReason: 'bad token' });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.connections).toHaveLength(1);
  });

  it('stops for good when the server speaks another protocol version', async () => {
    server.helloPatch = { protocolVersion: 2 };
    const client = makeClient();
    const error = await client.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionRejectedError);
    expect(error).toMatchObject({ code: 'CLIENT_CONNECTION_REJECTED', closeCode: 4010, closeReason: 'server speaks protocol 2, this client 1' });
    expect(client.state).toBe('closed');
  });

  it('asks a token function again before every reconnect', async () => {
    let n = 0;
    const client = makeClient({ token: async () => `token-${++n}` });
    await client.connect();
    server.dropAll();
    await until(() => server.connections.length === 2 && client.state === 'open', 5000, 'reconnect');
    expect(server.connections.map((c) => c.token)).toEqual(['token-1', 'token-2']);
  });

  it('does not reconnect after close() while a token is still being fetched', async () => {
    let calls = 0;
    const client = makeClient({ token: () => (calls++, new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no token')), 50))) });
    void client.connect().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 10));
    client.close();
    await new Promise((r) => setTimeout(r, 300)); // a reconnect would have asked again after 10-50 ms
    expect(calls).toBe(1);
    expect(client.state).toBe('closed');
  });

  it('refuses a bad url or option up front (CONFIG_INVALID)', () => {
    expect(() => new GroundstreamClient({ url: 'ftp://x' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => new GroundstreamClient({ url: 'not a url' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => new GroundstreamClient({ url: 'ws://x', reconnect: { jitter: 2 } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(new GroundstreamClient({ url: 'https://example.com' }).url).toBe('wss://example.com/v1/ws');
    expect(new GroundstreamClient({ url: 'ws://example.com/custom/path' }).url).toBe('ws://example.com/custom/path');
  });
});
