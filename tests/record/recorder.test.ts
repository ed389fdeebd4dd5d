/** The recording client against a scripted server: what it writes, when it stops, how it fails. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseNdjson, readSession } from '../../src/record/read-session.js';
import { record } from '../../src/record/recorder.js';
import { FakeServer, until } from '../client/fake-server.js';

let server: FakeServer;
let dir: string;
beforeEach(async () => {
  server = await FakeServer.start();
  dir = mkdtempSync(join(tmpdir(), 'gs-recorder-'));
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const acked = () => until(() => server.last?.subscriptions.get('s1'), 5000, 'the subscription');

describe('record()', () => {
  it('writes the header from the ack and hello, every line kind as received, and an end line', async () => {
    const done = record({ url: server.url, stream: 'cam1', queries: ['Red  Circle'], threshold: 0.25, out: dir, base: 'r' });
    await acked();
    server.sendDetections('s1', 0);
    server.send({ type: 'missed', subscription: 's1', count: 3 });
    server.sendDetections('s1', 4);
    server.send({ type: 'error', code: 'MODEL_RUN_FAILED', message: 'model inference failed: x', ref: 'cam1/5' });
    server.send({ type: 'status', stream: 'cam2', state: 'stalled' }); // another stream: not recorded
    server.send({ type: 'status', stream: 'cam1', state: 'ended' });
    server.send({ type: 'unsubscribed', id: 's1', reason: 'stream-ended' });
    const summary = await done;
    expect(summary).toMatchObject({ reason: 'stream-ended', results: 2, missed: 3, base: join(dir, 'r'), files: [join(dir, 'r-0001.ndjson')] });
    const lines = parseNdjson(readFileSync(summary.files[0]!, 'utf8'), 'r').records as any[];
    expect(lines.map((l) => l.type)).toEqual(['session', 'detections', 'missed', 'detections', 'error', 'status', 'end']);
    // queries as the server acked them, normalised
    expect(lines[0]).toMatchObject({ version: 1, part: 1, stream: 'cam1', queries: ['red circle'], threshold: 0.25, server: { serverVersion: '0.0.0-test', model: { name: 'fake' } }, source: { width: 640, height: 480 } });
    expect(lines[1].message).toMatchObject({ type: 'detections', frame: { seq: 0 } });
    expect(lines[1].receivedAt).toBeGreaterThanOrEqual(lines[0].startedAt);
    expect(lines[4].message).toMatchObject({ code: 'MODEL_RUN_FAILED', ref: 'cam1/5' });
    expect(lines[6]).toMatchObject({ type: 'end', reason: 'stream-ended', results: 2, missed: 3 });
    const s = readSession(summary.base);
    expect(s.results.map((r) => r.message.frame.seq)).toEqual([0, 4]);
    expect(s.missed).toBe(3);
  });

  it('carries on across a reconnect, noting the new ack', async () => {
    const ctl = new AbortController();
    const done = record({ url: server.url, stream: 'cam1', queries: ['star'], out: dir, base: 'r', signal: ctl.signal });
    await acked();
    server.sendDetections('s1', 0);
    await until(() => readdirSync(dir).length > 0 && readFileSync(join(dir, 'r-0001.ndjson'), 'utf8').includes('"detections"'));
    server.dropAll();
    await until(() => server.connections.length === 2 && server.last.subscriptions.get('s1'), 10_000, 'the re-subscribe');
    server.sendDetections('s1', 40);
    await until(() => readFileSync(join(dir, 'r-0001.ndjson'), 'utf8').includes('"seq":40'));
    ctl.abort();
    const summary = await done;
    expect(summary).toMatchObject({ reason: 'stopped', results: 2 });
    const types = (parseNdjson(readFileSync(summary.files[0]!, 'utf8'), 'r').records as any[]).map((l) => l.type);
    expect(types).toEqual(['session', 'detections', 'subscribed', 'detections', 'end']);
  });

  it('ends, as disconnected, when the server is gone for longer than giveUpAfterMs', async () => {
    const done = record({ url: server.url, stream: 'cam1', queries: ['star'], out: dir, base: 'r', giveUpAfterMs: 400 });
    await acked();
    server.sendDetections('s1', 0);
    await until(() => readdirSync(dir).length > 0 && readFileSync(join(dir, 'r-0001.ndjson'), 'utf8').includes('"detections"'));
    await server.close(); // for good: every reconnect is refused
    const summary = await done;
    expect(summary).toMatchObject({ reason: 'disconnected', results: 1 });
    expect(summary.detail).toMatch(/the connection to ws:.* was lost and not back in 0\.4 s$/);
    expect(readSession(summary.base).end).toMatchObject({ type: 'end', reason: 'disconnected', results: 1 });
  });

  it('gives up, writing nothing, when the connection goes before the subscription is acked and does not come back', async () => {
    server.ignoreSubscribes = true;
    const done = record({ url: server.url, stream: 'cam1', queries: ['star'], out: dir, base: 'r', giveUpAfterMs: 400 });
    await until(() => server.last?.received.some((m) => m.type === 'subscribe'), 5000, 'the subscribe');
    await server.close();
    await expect(done).rejects.toMatchObject({ code: 'CLIENT_RECONNECT_EXHAUSTED' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stops after --seconds', async () => {
    const summary = await record({ url: server.url, stream: 'cam1', queries: ['star'], out: dir, base: 'r', seconds: 0.2 });
    expect(summary).toMatchObject({ reason: 'seconds', results: 0 });
    expect(readSession(summary.base).end).toMatchObject({ reason: 'seconds' });
  });

  it('names recordings started in the same second apart, and one whose name is taken fails writing nothing', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => record({ url: server.url, stream: 'cam1', queries: ['star'], out: dir, seconds: 0.2 })));
    expect(a!.base).not.toBe(b!.base);
    expect(a!.base).toMatch(/cam1-\d{8}-\d{6}-[0-9a-f]{6}$/);
    for (const s of [a!, b!]) expect(readSession(s.base).end).toMatchObject({ reason: 'seconds' });
    const before = readdirSync(dir).sort();
    const name = a!.base.split('/').pop()!;
    await expect(record({ url: server.url, stream: 'cam1', queries: ['star'], out: dir, base: name, seconds: 0.2 })).rejects.toMatchObject({ code: 'RECORD_WRITE_FAILED' });
    expect(readdirSync(dir).sort()).toEqual(before); // no stray part of its own
    expect(readSession(a!.base).end).toMatchObject({ reason: 'seconds' }); // and the first is intact
  });

  it('fails, writing nothing, when the server refuses the subscription or cannot be reached', async () => {
    await expect(record({ url: server.url, stream: 'nope', queries: ['star'], out: dir })).rejects.toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN' });
    expect(readdirSync(dir)).toEqual([]);
    const url = server.url;
    await server.close();
    await expect(record({ url, stream: 'cam1', queries: ['star'], out: dir, connectTimeoutMs: 300 })).rejects.toMatchObject({ code: 'CLIENT_RECONNECT_EXHAUSTED' });
    server = await FakeServer.start(); // for afterEach
  });
});
