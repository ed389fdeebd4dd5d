import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou } from '../../src/domain/geometry.js';
import { isGroundstreamError, type ErrorCode } from '../../src/errors.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { stills } from '../helpers/fixtures.js';
import { decodeImage } from '../../src/ingest/image-decode.js';
import { workingSizeFor } from '../../src/server/server.js';

async function code(p: Promise<unknown>): Promise<ErrorCode> {
  try {
    await p;
  } catch (e) {
    if (isGroundstreamError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a GroundstreamError');
}

describe('model runtime on the bundled model (real onnxruntime)', () => {
  let split: GroundingModel;
  let combined: GroundingModel;
  const logged: string[] = [];
  let tmp: string;

  beforeAll(async () => {
    split = await loadModel(BUNDLED_MODEL_DIR, { log: (m) => logged.push(m) });
    combined = await loadModel(BUNDLED_MODEL_DIR, { forceCombined: true });
    tmp = mkdtempSync(join(tmpdir(), 'gs-model-'));
  });
  afterAll(async () => {
    await split?.close();
    await combined?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('logs each graph signature and uses the split graphs when present', () => {
    expect(split.info.mode).toBe('split');
    expect(combined.info.mode).toBe('combined');
    expect(logged.join('\n')).toMatch(/pixel_values: float32\[batch_size, 3, 224, 224\]/);
    expect(logged.join('\n')).toMatch(/text_embeds/);
  });

  it('finds the objects of the fixture stills with their colour-shape queries, boxes in source pixels', async () => {
    let found = 0;
    let total = 0;
    for (const { path, truth } of stills()) {
      const objects = truth.frames[0]!.objects;
      const queries = objects.map((o) => `${o.color} ${o.shape}`);
      // a low threshold: this checks geometry (scale, aspect, orientation), not calibration
      const r = await split.detect(readFileSync(path), queries, { threshold: 0.15 });
      expect([r.width, r.height]).toEqual([truth.width, truth.height]);
      for (const o of objects) {
        total++;
        if (r.detections.some((d) => d.query === `${o.color} ${o.shape}` && iou(d.box, o.box) >= 0.5)) found++;
      }
      for (const d of r.detections) {
        expect(d.box[0]).toBeGreaterThanOrEqual(0);
        expect(d.box[2]).toBeLessThanOrEqual(truth.width);
        expect(d.box[3]).toBeLessThanOrEqual(truth.height);
      }
    }
    // a wrong scale, aspect or orientation anywhere in pre- or postprocessing would find almost none
    expect(found / total).toBeGreaterThanOrEqual(0.9);
  });

  it('turns an image with an EXIF orientation upright once: boxes land on the objects as displayed', async () => {
    const { path, truth } = stills()[0]!; // 640x360
    const objects = truth.frames[0]!.objects;
    const queries = objects.map((o) => `${o.color} ${o.shape}`);
    // stored rotated a quarter turn anticlockwise (360x640), tagged "rotate 90 clockwise to display"
    const stored = await sharp(readFileSync(path)).rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    const meta = await sharp(stored).metadata();
    expect([meta.width, meta.height, meta.orientation]).toEqual([360, 640, 6]);
    const r = await split.detect(stored, queries, { threshold: 0.15 });
    expect([r.width, r.height]).toEqual([640, 360]);
    const found = objects.filter((o) => r.detections.some((d) => d.query === `${o.color} ${o.shape}` && iou(d.box, o.box) >= 0.5));
    expect(found.length / objects.length).toBeGreaterThanOrEqual(0.9);
  });

  it('gives the same detections through the split graphs and the combined graph', async () => {
    const { path } = stills()[0]!;
    const q = ['red circle', 'blue object', 'star', 'purple star', 'dog'];
    const a = await split.detect(readFileSync(path), q, { threshold: 0.05 });
    const b = await combined.detect(readFileSync(path), q, { threshold: 0.05 });
    expect(a.detections.length).toBe(b.detections.length);
    a.detections.forEach((d, i) => {
      expect(b.detections[i]!.query).toBe(d.query);
      expect(b.detections[i]!.score).toBeCloseTo(d.score, 4);
      b.detections[i]!.box.forEach((v, k) => expect(v).toBeCloseTo(d.box[k]!, 2));
    });
  });

  it('gives raw RGB frames the same answer as the encoded image', async () => {
    const { path } = stills()[0]!;
    const { data, info } = await sharp(readFileSync(path)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const q = ['red circle', 'circle', 'green object'];
    const enc = await split.detect(readFileSync(path), q, { threshold: 0.2 });
    const raw = await split.detect({ data, width: info.width, height: info.height }, q, { threshold: 0.2 });
    expect(raw.detections.length).toBe(enc.detections.length);
    raw.detections.forEach((d, i) => expect(iou(d.box, enc.detections[i]!.box)).toBeGreaterThan(0.95));
  });

  it('normalises and deduplicates queries before caching them', async () => {
    const qs = await split.prepareQueries(['Red  Circle', ' red circle ', 'RED CIRCLE!']);
    expect(qs.texts).toEqual(['red circle', 'red circle!']);
  });

  it('answers a query that names nothing in the world with no boxes, not an error', async () => {
    const { path } = stills()[0]!;
    const r = await split.detect(readFileSync(path), ['dog', 'person with a helmet']);
    expect(r.detections).toEqual([]);
  });

  it('yields at most 100 boxes a query (the best) at threshold 0, not one per patch', async () => {
    const bytes = readFileSync(stills()[0]!.path);
    const capped = await split.detect(bytes, ['purple cross', 'star'], { threshold: 0, nmsIou: null });
    for (const q of ['purple cross', 'star']) expect(capped.detections.filter((d) => d.query === q)).toHaveLength(100);
    const all = await split.detect(bytes, ['purple cross', 'star'], { threshold: 0, nmsIou: null, maxPerQuery: Infinity });
    expect(all.detections).toHaveLength(2 * 784);
    // the same best boxes: the cap drops only the tail
    const best = all.detections.filter((d) => d.query === 'purple cross').slice(0, 100);
    expect(capped.detections.filter((d) => d.query === 'purple cross')).toEqual(best);
  });

  it('refuses bad input with a stable code and keeps working', async () => {
    const img = readFileSync(stills()[0]!.path);
    expect(await code(split.detect(img, []))).toBe('QUERY_EMPTY');
    expect(await code(split.detect(img, ['x'.repeat(10_000)]))).toBe('QUERY_TOO_LONG');
    // characters are code points, as the protocol says: 200 emoji (400 UTF-16 units) pass the 256 limit, 257 do not
    await expect(split.prepareQueries(['🔴'.repeat(200)])).resolves.toBeDefined();
    await expect(split.prepareQueries(['🔴'.repeat(257)])).rejects.toThrow(/257 characters; at most 256/);
    expect(await code(split.detect(img, ['   ']))).toBe('QUERY_INVALID');
    expect(await code(split.detect(new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3, 4, 5]), ['circle']))).toBe('IMAGE_DECODE_FAILED');
    expect(await code(split.detect(img.subarray(0, img.length / 3), ['circle']))).toBe('IMAGE_DECODE_FAILED');
    const huge = await sharp({ create: { width: 10_000, height: 5_000, channels: 3, background: '#808080' } }).png().toBuffer();
    expect(await code(split.detect(huge, ['circle']))).toBe('IMAGE_TOO_LARGE');
    expect(await code(split.detect({ data: new Uint8Array(10), width: 4, height: 4 }, ['circle']))).toBe('IMAGE_INVALID');
    // still fine afterwards
    expect((await split.detect(img, ['circle'])).width).toBe(640);
  });

  it('encodes a query set larger than the embedding cache (the cache is a lookup, not a requirement)', async () => {
    const tiny = await loadModel(BUNDLED_MODEL_DIR, { cacheSize: 2 });
    try {
      const queries = ['red circle', 'blue square', 'green star', 'purple cross', 'yellow triangle'];
      const a = await tiny.prepareQueries(queries);
      const b = await split.prepareQueries(queries);
      expect(a.texts).toEqual(b.texts);
      expect(Array.from((a as unknown as { embeds: Float32Array }).embeds)).toEqual(Array.from((b as unknown as { embeds: Float32Array }).embeds));
      const { path } = stills()[0]!;
      const da = await tiny.detect(readFileSync(path), queries);
      const db = await split.detect(readFileSync(path), queries);
      expect(da.detections).toEqual(db.detections);
    } finally {
      await tiny.close();
    }
  });

  it('drops an alpha channel, keeping the colour of transparent pixels, as the reference does; pushed frames score as detect() does', async () => {
    const path = stills()[0]!.path;
    const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    // the same RGB, with the left half fully transparent
    const rgba = Buffer.alloc(info.width * info.height * 4);
    for (let i = 0; i < info.width * info.height; i++) {
      rgba.set(data.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = i % info.width < info.width / 2 ? 0 : 255;
    }
    const raw = { raw: { width: info.width, height: info.height, channels: 3 as const } };
    const opaque = await sharp(data, raw).png().toBuffer();
    const clear = await sharp(rgba, { raw: { ...raw.raw, channels: 4 } }).png().toBuffer();
    const queries = await split.prepareQueries(['blue circle', 'purple cross', 'star', 'red square']);
    const a = await split.detect(opaque, queries);
    expect(a.detections.length).toBeGreaterThan(0);
    expect((await split.detect(clear, queries)).detections).toEqual(a.detections);
    // raw RGBA in (a caller's own decode) too
    expect((await split.detect({ data: rgba, width: info.width, height: info.height, channels: 4 }, queries)).detections).toEqual(a.detections);
    // a pushed frame: decoded and resized on the way in, with the model's own filter
    for (const png of [opaque, clear]) {
      const f = await decodeImage(png, { maxPixels: 1e8, size: workingSizeFor(split) });
      const r = await split.detect({ data: f.data, width: f.width, height: f.height, sourceWidth: f.sourceWidth, sourceHeight: f.sourceHeight }, queries);
      expect(r.detections).toEqual(a.detections);
    }
  });

  it('honours a configurable pixel limit', async () => {
    const small = await loadModel(BUNDLED_MODEL_DIR, { maxPixels: 100_000 });
    try {
      expect(await code(small.detect(readFileSync(stills()[0]!.path), ['circle']))).toBe('IMAGE_TOO_LARGE');
    } finally {
      await small.close();
    }
  });

  it('fails to load with a code naming what is wrong', async () => {
    expect(await code(loadModel(join(tmp, 'nope')))).toBe('MODEL_NOT_FOUND');
    // a folder whose combined graph is really the text encoder: wrong signature
    const bad = join(tmp, 'bad');
    cpSync(BUNDLED_MODEL_DIR, bad, { recursive: true, filter: (s) => !/\/(work|train)$/.test(s) });
    cpSync(join(bad, 'onnx', 'text_encoder.onnx'), join(bad, 'onnx', 'model.onnx'));
    await expect(loadModel(bad, { forceCombined: true })).rejects.toThrow(/missing input "pixel_values"/);
    expect(await code(loadModel(bad, { forceCombined: true }))).toBe('MODEL_SIGNATURE');
    // a corrupt graph file
    writeFileSync(join(bad, 'onnx', 'model.onnx'), 'not an onnx file');
    expect(await code(loadModel(bad, { forceCombined: true }))).toBe('MODEL_LOAD_FAILED');
    // a split graph config.json names, missing: said, not quietly replaced by the combined graph
    const noDetector = join(tmp, 'no-detector');
    cpSync(BUNDLED_MODEL_DIR, noDetector, { recursive: true, filter: (s) => !/\/(work|train)$/.test(s) && !s.endsWith('detector.onnx') });
    await expect(loadModel(noDetector)).rejects.toThrow(/detector\.onnx \(named by groundstream\.split\.detector in .*config\.json\)/);
    expect(await code(loadModel(noDetector))).toBe('MODEL_NOT_FOUND');
    // an unsupported family
    const cfg = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8'));
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, model_type: 'grounding-dino' }));
    expect(await code(loadModel(bad))).toBe('MODEL_UNSUPPORTED');
    // an execution provider this build lacks
    expect(await code(loadModel(BUNDLED_MODEL_DIR, { session: { executionProviders: ['cuda'] } }))).toBe('PROVIDER_UNAVAILABLE');
  });
});
