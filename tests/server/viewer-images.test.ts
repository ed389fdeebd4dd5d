/**
 * Viewer images: which frames go out (ImageGate), how they are encoded, and, over a real socket,
 * that each image precedes the result of the same frame, once per frame, at the widest width asked.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { resolveConfig } from '../../src/config/config.js';
import { decodeFrame, DEFAULT_LIMITS } from '../../src/protocol/index.js';
import { GroundstreamServer } from '../../src/server/server.js';
import { encodeViewerImage, ImageGate, viewerImageSize } from '../../src/server/viewer-images.js';
import { colourModel } from '../browser/helpers/colour-model.js';
import { FIXTURES } from '../helpers/fixtures.js';

describe('ImageGate', () => {
  it('lets each frame out once, however many subscriptions want it', () => {
    const g = new ImageGate(() => 0);
    expect(g.take('s', 1, [{}, {}])).toEqual({ maxWidth: undefined });
    g.done('s');
    expect(g.take('s', 1, [{}])).toBeNull();
    expect(g.take('s', 2, [{}])).not.toBeNull();
  });

  it('keeps to the highest rate asked, and sends at the widest width asked', () => {
    let now = 0;
    const g = new ImageGate(() => now);
    const wants = [{ maxRate: 2, maxWidth: 320 }, { maxRate: 5, maxWidth: 640 }];
    expect(g.take('s', 1, wants)).toEqual({ maxWidth: 640 });
    g.done('s');
    now = 100;
    expect(g.take('s', 2, wants)).toBeNull(); // 5/s: one each 200 ms
    now = 200;
    expect(g.take('s', 3, wants)).toEqual({ maxWidth: 640 });
    g.done('s');
    now = 400;
    expect(g.take('s', 4, [{ maxRate: 5, maxWidth: 320 }, { maxRate: 1 }])).toEqual({ maxWidth: undefined }); // unset width: source width
  });

  it('skips frames while an image of the stream is still being encoded, and keeps streams apart', () => {
    const g = new ImageGate(() => 0);
    expect(g.take('a', 1, [{}])).not.toBeNull();
    expect(g.take('a', 2, [{}])).toBeNull();
    expect(g.take('b', 2, [{}])).not.toBeNull();
    g.done('a');
    expect(g.take('a', 3, [{}])).not.toBeNull();
    expect(g.take('a', 4, [])).toBeNull();
  });
});

describe('encodeViewerImage', () => {
  it('scales the working-size frame back to the source aspect ratio, as a JPEG binary frame', async () => {
    const pixels = { data: new Uint8Array(224 * 224 * 3).fill(0), width: 224, height: 224 };
    for (let i = 0; i < pixels.data.length; i += 3) pixels.data[i] = 220; // red
    const frame = { seq: 42, pts: 1.4, capturedAt: 1_700_000_000_000, width: 640, height: 360 };
    const bytes = await encodeViewerImage('cam', frame, pixels, 320, DEFAULT_LIMITS);
    const r = decodeFrame(bytes);
    if (!r.ok) throw new Error(r.error.code);
    expect([r.frame.stream, r.frame.seq, r.frame.capturedAt, r.frame.format]).toEqual(['cam', 42, frame.capturedAt, 'jpeg']);
    const { data, info } = await sharp(r.frame.data).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([320, 180]);
    expect(data[0]).toBeGreaterThan(200);
    expect(data[1]).toBeLessThan(30);
  });

  it('never upscales past the source width', () => {
    expect(viewerImageSize({ width: 640, height: 360 }, 4096)).toEqual({ width: 640, height: 360 });
    expect(viewerImageSize({ width: 1280, height: 720 })).toEqual({ width: 1280, height: 720 });
    expect(viewerImageSize({ width: 360, height: 640 }, 100)).toEqual({ width: 100, height: 178 });
  });
});

describe('viewer images over a real socket', () => {
  let server: GroundstreamServer;
  let wsUrl: string;

  beforeAll(async () => {
    server = new GroundstreamServer({ config: resolveConfig({ port: 0 }), model: colourModel(), fileRoots: [FIXTURES] });
    const base = await server.listen();
    wsUrl = `${base.replace('http', 'ws')}/v1/ws`;
    await server.streams.add({ id: 'clip', source: join(FIXTURES, 'clips', 'clip01-640x360.mp4'), realtime: true, loop: true });
  });

  afterAll(async () => {
    await server?.close();
  });

  /** Opens a client and records every message in order: text as parsed JSON, binary decoded. */
  async function record(subscribes: object[], ms: number) {
    const ws = new WebSocket(wsUrl);
    const log: ({ kind: 'text'; msg: any } | { kind: 'image'; seq: number; stream: string; width: number })[] = [];
    const pending: Promise<void>[] = [];
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return void log.push({ kind: 'text', msg: JSON.parse(String(data)) });
      const r = decodeFrame(new Uint8Array(data as Buffer));
      if (!r.ok) throw new Error(r.error.code);
      const entry = { kind: 'image' as const, seq: r.frame.seq, stream: r.frame.stream, width: 0 };
      log.push(entry);
      pending.push(sharp(r.frame.data).metadata().then((m) => void (entry.width = m.width!)));
    });
    await new Promise((r) => ws.once('open', r));
    for (const s of subscribes) ws.send(JSON.stringify(s));
    await new Promise((r) => setTimeout(r, ms));
    ws.close();
    await Promise.all(pending);
    return log;
  }

  it('sends each image just before the result of its frame, once, at the widest width asked', async () => {
    const log = await record(
      [
        { type: 'subscribe', id: 'a', stream: 'clip', queries: ['purple circle'], image: { maxWidth: 160 } },
        { type: 'subscribe', id: 'b', stream: 'clip', queries: ['black star'], image: { maxWidth: 320 } },
        { type: 'subscribe', id: 'c', stream: 'clip', queries: ['black cross'] },
      ],
      2500,
    );
    const images = log.flatMap((e, i) => (e.kind === 'image' ? [{ ...e, i }] : []));
    expect(images.length).toBeGreaterThan(5);
    expect(new Set(images.map((e) => e.seq)).size).toBe(images.length);
    for (const img of images) {
      const next = log[img.i + 1];
      expect(next?.kind === 'text' && next.msg.type === 'detections' && next.msg.frame.seq === img.seq, `result of frame ${img.seq} follows its image`).toBe(true);
      expect(img.width).toBe(320);
    }
    // acks say what was granted
    const acks = log.flatMap((e) => (e.kind === 'text' && e.msg.type === 'subscribed' ? [e.msg] : []));
    expect(acks.find((a) => a.id === 'a').image).toEqual({ maxWidth: 160 });
    expect(acks.find((a) => a.id === 'c').image).toBeUndefined();
  });

  it('stops the images when an update clears them', async () => {
    const ws = new WebSocket(wsUrl);
    const seen: string[] = [];
    ws.on('message', (data, isBinary) => seen.push(isBinary ? 'image' : JSON.parse(String(data)).type));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', id: 'u', stream: 'clip', queries: ['purple circle'], image: {} }));
    await new Promise((r) => setTimeout(r, 800));
    ws.send(JSON.stringify({ type: 'update', id: 'u', image: null }));
    await new Promise((r) => setTimeout(r, 800));
    ws.close();
    const ack = seen.lastIndexOf('subscribed');
    expect(seen.slice(0, ack)).toContain('image');
    expect(seen.slice(ack)).toContain('detections');
    // an image already being encoded when the update came may still arrive; no more after it
    expect(seen.slice(ack + 3)).not.toContain('image');
  });

  it('keeps to the image rate asked while results flow at their own', async () => {
    const log = await record([{ type: 'subscribe', id: 'r', stream: 'clip', queries: ['purple circle'], image: { maxRate: 2 } }], 2600);
    const images = log.filter((e) => e.kind === 'image');
    const results = log.filter((e) => e.kind === 'text' && e.msg.type === 'detections');
    expect(images.length).toBeGreaterThanOrEqual(3);
    expect(images.length).toBeLessThanOrEqual(6);
    expect(results.length).toBeGreaterThan(images.length * 3);
    expect(images.every((e) => e.kind === 'image' && e.width === 640)).toBe(true);
  });
});
