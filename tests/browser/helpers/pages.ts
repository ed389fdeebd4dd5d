/**
 * What the browser tests share: a real server (real ffmpeg, the pages built fresh) with a fixture
 * clip looping, Debian's Chromium driven by playwright-core, and pixel checks against truth.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { resolveConfig } from '../../../src/config/config.js';
import { ffmpegPath } from '../../../src/ingest/ffmpeg-binary.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../../src/model/index.js';
import { GroundstreamServer } from '../../../src/server/server.js';
import { webHandler } from '../../../src/server/web.js';
import { FIXTURES, ROOT, type Truth, type TruthObject } from '../../helpers/fixtures.js';
import { colourModel } from './colour-model.js';

export const CHROMIUM = '/usr/bin/chromium';
export const DOCS = join(ROOT, 'docs');

/** The bundled model, or the colour oracle when GS_FAKE_MODEL=colour (page geometry only). */
export async function testModel(): Promise<GroundingModel> {
  if (process.env.GS_FAKE_MODEL === 'colour') {
    console.warn('browser tests: using the colour-oracle fake model (GS_FAKE_MODEL=colour), not the bundled model');
    return colourModel();
  }
  return loadModel(BUNDLED_MODEL_DIR);
}

/** Builds the pages into a fresh temporary folder (the test never serves a stale build). */
export async function buildPages(): Promise<string> {
  const outdir = await mkdtemp(join(tmpdir(), 'gs-web-'));
  const { buildWeb } = (await import(join(ROOT, 'scripts', 'build-web.mjs'))) as { buildWeb(o: { outdir: string }): Promise<unknown> };
  await buildWeb({ outdir });
  return outdir;
}

export async function startServer(model: GroundingModel, webRoot: string, port = 0, extra: Parameters<typeof resolveConfig>[0] = {}): Promise<{ server: GroundstreamServer; base: string }> {
  const server = new GroundstreamServer({ config: resolveConfig({ port, ...extra }), model, fileRoots: [FIXTURES], handlers: [webHandler({ root: webRoot })] });
  const base = await server.listen();
  return { server, base };
}

export async function addLoopingClip(base: string, id: string, clipPath: string): Promise<void> {
  const r = await fetch(`${base}/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, source: clipPath, realtime: true, loop: true }) });
  if (r.status !== 201) throw new Error(`adding stream ${id}: ${r.status} ${await r.text()}`);
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The truth for frame `seq` of a looping clip (seq keeps counting across loops). */
export function truthAt(truth: Truth, seq: number): TruthObject[] {
  return truth.frames[seq % truth.frames.length]!.objects;
}

// ---------------------------------------------------------------- pixels

export interface Rgba {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

export async function decodePng(png: Buffer): Promise<Rgba> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export function pixel(img: Rgba, x: number, y: number): [number, number, number, number] {
  const xi = Math.min(img.width - 1, Math.max(0, Math.round(x)));
  const yi = Math.min(img.height - 1, Math.max(0, Math.round(y)));
  const i = (yi * img.width + xi) * 4;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!, img.data[i + 3]!];
}

/** Opaque enough and within `tolerance` (RGB distance) of `rgb`. */
export function isColour(p: readonly number[], rgb: readonly number[], tolerance = 70): boolean {
  if (p[3]! < 128) return false;
  return Math.hypot(p[0]! - rgb[0]!, p[1]! - rgb[1]!, p[2]! - rgb[2]!) < tolerance;
}

export type Edge = 'left' | 'right' | 'top' | 'bottom';

/**
 * The edges of `box` (image pixels) along which a line of colour `rgb` is drawn: an edge counts
 * when, at most of 9 points spread over its middle half, a pixel of that colour lies within
 * `reach` pixels across it. The detector's box is not the truth box, hence the reach.
 */
export function strokedEdges(img: Rgba, box: readonly number[], rgb: readonly number[], reach: number): Edge[] {
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  const found: Edge[] = [];
  const edges: [Edge, (t: number, d: number) => [number, number]][] = [
    ['left', (t, d) => [x1 + d, y1 + t * (y2 - y1)]],
    ['right', (t, d) => [x2 + d, y1 + t * (y2 - y1)]],
    ['top', (t, d) => [x1 + t * (x2 - x1), y1 + d]],
    ['bottom', (t, d) => [x1 + t * (x2 - x1), y2 + d]],
  ];
  for (const [edge, at] of edges) {
    let hits = 0;
    for (let k = 0; k < 9; k++) {
      const t = 0.25 + (0.5 * k) / 8;
      for (let d = -reach; d <= reach; d++) {
        const [x, y] = at(t, d);
        if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
        if (isColour(pixel(img, x, y), rgb)) {
          hits++;
          break;
        }
      }
    }
    if (hits >= 5) found.push(edge);
  }
  return found;
}

/** `box` (source pixels) scaled into an image of the source scaled to `scale`. */
export const scaleBox = (box: readonly number[], sx: number, sy = sx): number[] => [box[0]! * sx, box[1]! * sy, box[2]! * sx, box[3]! * sy];

/** How far from a truth edge a drawn edge may be: the detector is not exact. */
export const reachFor = (box: readonly number[]): number => Math.round(Math.max(8, 0.25 * Math.min(box[2]! - box[0]!, box[3]! - box[1]!)));

/** Frame `index` of a clip, decoded by ffmpeg, as PNG. */
export function clipFrame(clipPath: string, index: number): Buffer {
  const r = spawnSync(ffmpegPath(), ['-v', 'error', '-i', clipPath, '-vf', `select=eq(n\\,${index})`, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr.toString()}`);
  return r.stdout;
}

/** A grey checkerboard (how image editors show transparency), `width` x `height`, as PNG. */
export async function checkerboard(width: number, height: number, cell = 16): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 ? 200 : 150;
      data.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
