/**
 * Independent second renderer of the shapes world (docs/SHAPES_WORLD.md, v1), written from
 * the specification only, so the bundled model can be scored on clips that do not share the first
 * renderer's quirks (colours, star/triangle proportions, rasteriser, textures, noise).
 *
 *   npx vite-node scripts/render-shapes-world.ts --out fixtures/robust --seed 777
 *   ... [--crf 28] [--clip-kib 250] [--only 3] [--annotate /tmp/robust-annotated] [--annotate-frames 0,45,89]
 *
 * Each frame: a static, per-clip background (an SVG texture rasterised once by sharp/librsvg, then
 * strong per-pixel noise added in JS) composited with an SVG of the objects, rasterised by
 * sharp/librsvg (which does the anti-aliasing). Raw RGB frames are piped into ffmpeg (H.264).
 *
 * Everything is planned before anything is drawn: each object's whole trajectory is sampled and
 * checked on every frame against the spec's rules (size, overlap on rasterised span masks, local
 * contrast against the noisy background), re-sampling on failure. After encoding, every clip is
 * decoded again and the contrast rule is re-measured on the decoded pixels.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

// ---------------------------------------------------------------------------------------------
// World vocabulary and this renderer's own choices where the spec is silent.

type ColorName = 'red' | 'orange' | 'yellow' | 'green' | 'blue' | 'purple' | 'white' | 'black';
type ShapeName = 'circle' | 'square' | 'triangle' | 'star' | 'cross';
type RGB = [number, number, number];

const COLORS: ColorName[] = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'white', 'black'];
const SHAPES: ShapeName[] = ['circle', 'square', 'triangle', 'star', 'cross'];

/** Canonical colours of this renderer (each object jitters every channel by up to +-15). */
const CANON: Record<ColorName, RGB> = {
  red: [206, 28, 44],
  orange: [240, 122, 18],
  yellow: [244, 218, 36],
  green: [34, 158, 70],
  blue: [28, 84, 214],
  purple: [122, 40, 168],
  white: [240, 242, 236],
  black: [20, 18, 26],
};
const JITTER = 15;
/** Star: five points, inner radius / outer radius (a regular pentagram would be 0.382). */
const STAR_INNER = 0.46;

// Rules, with a safety margin over the spec's limits.
const SIZE_MIN = 0.085; // spec: 8% of the shorter side
const SIZE_MAX = 0.345; // spec: 35%
const OVERLAP_MAX = 0.35; // spec: 40% of the smaller object's area covered
const CONTRAST_RING = 140; // spec: 120, object colour vs mean of background around it
const CONTRAST_UNDER = 125; // this renderer also asks it of the background right under the object
const FPS = 30;
const SECONDS = 3;
const FRAMES = FPS * SECONDS;

// ---------------------------------------------------------------------------------------------
// Seeded randomness.

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = Math.imul(this.s ^ (this.s >>> 15), 1 | this.s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uni(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  int(a: number, b: number): number {
    return a + Math.floor(this.next() * (b - a + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
  private spare: number | null = null;
  gauss(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u = Math.max(1e-12, this.next());
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
}

// ---------------------------------------------------------------------------------------------
// Geometry: shapes, exact boxes, span masks (pixel rows whose pixel centres lie inside the shape).

interface Pose {
  cx: number;
  cy: number;
  /** circumradius (circle: radius) */
  r: number;
  /** radians */
  ang: number;
}
type Pt = [number, number];
type Box = [number, number, number, number];

function localVerts(shape: ShapeName): Pt[] | null {
  const out: Pt[] = [];
  switch (shape) {
    case 'circle':
      return null;
    case 'square':
      for (let k = 0; k < 4; k++) out.push(polar(1, Math.PI / 4 + (k * Math.PI) / 2));
      return out;
    case 'triangle': // equilateral, circumradius 1, apex up at angle 0
      for (let k = 0; k < 3; k++) out.push(polar(1, -Math.PI / 2 + (k * 2 * Math.PI) / 3));
      return out;
    case 'star':
      for (let k = 0; k < 10; k++) out.push(polar(k % 2 ? STAR_INNER : 1, -Math.PI / 2 + (k * Math.PI) / 5));
      return out;
    case 'cross': {
      // A plus sign of two bars, each bar one third as wide as it is long; circumradius 1.
      const h = 1 / Math.hypot(1, 1 / 3);
      const t = h / 3;
      return [
        [t, -h], [t, -t], [h, -t], [h, t], [t, t], [t, h],
        [-t, h], [-t, t], [-h, t], [-h, -t], [-t, -t], [-t, -h],
      ];
    }
  }
}
function polar(r: number, a: number): Pt {
  return [r * Math.cos(a), r * Math.sin(a)];
}
const LOCAL: Record<ShapeName, Pt[] | null> = {
  circle: localVerts('circle'),
  square: localVerts('square'),
  triangle: localVerts('triangle'),
  star: localVerts('star'),
  cross: localVerts('cross'),
};

function verts(shape: ShapeName, p: Pose, scale = 1): Pt[] | null {
  const l = LOCAL[shape];
  if (!l) return null;
  const c = Math.cos(p.ang);
  const s = Math.sin(p.ang);
  const r = p.r * scale;
  return l.map(([x, y]) => [p.cx + r * (x * c - y * s), p.cy + r * (x * s + y * c)]);
}

/** The exact tight box of the whole shape. */
function shapeBox(shape: ShapeName, p: Pose): Box {
  const v = verts(shape, p);
  if (!v) return [p.cx - p.r, p.cy - p.r, p.cx + p.r, p.cy + p.r];
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const [x, y] of v) {
    x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y);
  }
  return [x1, y1, x2, y2];
}

/** Per pixel row, flat list of [start, end) pixel intervals. */
interface Mask {
  y0: number;
  rows: number[][];
}

function mask(shape: ShapeName, p: Pose, W: number, H: number, scale = 1): Mask {
  const v = verts(shape, p, scale);
  const r = p.r * scale;
  const ymin = v ? Math.min(...v.map((q) => q[1])) : p.cy - r;
  const ymax = v ? Math.max(...v.map((q) => q[1])) : p.cy + r;
  const y0 = Math.max(0, Math.floor(ymin));
  const y1 = Math.min(H - 1, Math.ceil(ymax));
  const rows: number[][] = [];
  for (let y = y0; y <= y1; y++) {
    const yc = y + 0.5;
    const xs: number[] = [];
    if (v) {
      for (let i = 0; i < v.length; i++) {
        const a = v[i]!;
        const b = v[(i + 1) % v.length]!;
        if (a[1] <= yc !== b[1] <= yc) xs.push(a[0] + ((yc - a[1]) * (b[0] - a[0])) / (b[1] - a[1]));
      }
      xs.sort((m, n) => m - n);
    } else {
      const dy = yc - p.cy;
      if (Math.abs(dy) < r) {
        const hw = Math.sqrt(r * r - dy * dy);
        xs.push(p.cx - hw, p.cx + hw);
      }
    }
    const row: number[] = [];
    for (let i = 0; i + 1 < xs.length; i += 2) {
      const a = Math.max(0, Math.ceil(xs[i]! - 0.5));
      const b = Math.min(W, Math.ceil(xs[i + 1]! - 0.5));
      if (b > a) row.push(a, b);
    }
    rows.push(row);
  }
  return { y0, rows };
}

const EMPTY: number[] = [];
function rowOf(m: Mask, y: number): number[] {
  return m.rows[y - m.y0] ?? EMPTY;
}
function intervalsLen(a: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i += 2) s += a[i + 1]! - a[i]!;
  return s;
}
function area(m: Mask): number {
  let s = 0;
  for (const r of m.rows) s += intervalsLen(r);
  return s;
}
function union(list: number[][]): number[] {
  const pairs: Pt[] = [];
  for (const a of list) for (let i = 0; i < a.length; i += 2) pairs.push([a[i]!, a[i + 1]!]);
  if (pairs.length <= 1) return pairs.length ? [pairs[0]![0], pairs[0]![1]] : EMPTY;
  pairs.sort((m, n) => m[0] - n[0]);
  const out: number[] = [];
  let [s, e] = pairs[0]!;
  for (let i = 1; i < pairs.length; i++) {
    const [a, b] = pairs[i]!;
    if (a <= e) e = Math.max(e, b);
    else {
      out.push(s, e);
      [s, e] = [a, b];
    }
  }
  out.push(s, e);
  return out;
}
function intersectLen(a: number[], b: number[]): number {
  let i = 0, j = 0, s = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i]!, b[j]!);
    const hi = Math.min(a[i + 1]!, b[j + 1]!);
    if (hi > lo) s += hi - lo;
    if (a[i + 1]! < b[j + 1]!) i += 2;
    else j += 2;
  }
  return s;
}
/** Parts of `a` not in `b` (both sorted, disjoint). */
function subtract(a: number[], b: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i += 2) {
    let s = a[i]!;
    const e = a[i + 1]!;
    for (let j = 0; j < b.length && s < e; j += 2) {
      const bs = b[j]!, be = b[j + 1]!;
      if (be <= s || bs >= e) continue;
      if (bs > s) out.push(s, bs);
      s = Math.max(s, be);
    }
    if (s < e) out.push(s, e);
  }
  return out;
}
/** |m ∩ (∪ others)| */
function coveredBy(m: Mask, others: Mask[]): number {
  let s = 0;
  for (let k = 0; k < m.rows.length; k++) {
    const y = m.y0 + k;
    const row = m.rows[k]!;
    if (!row.length) continue;
    const u = union(others.map((o) => rowOf(o, y)));
    if (u.length) s += intersectLen(row, u);
  }
  return s;
}
function intersectArea(a: Mask, b: Mask): number {
  let s = 0;
  const y0 = Math.max(a.y0, b.y0);
  const y1 = Math.min(a.y0 + a.rows.length, b.y0 + b.rows.length);
  for (let y = y0; y < y1; y++) s += intersectLen(rowOf(a, y), rowOf(b, y));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Images: background raster with a summed-area table for local means.

interface Raster {
  W: number;
  H: number;
  px: Buffer; // RGB
}
interface Sat {
  W: number;
  H: number;
  t: Float64Array; // (H+1)*(W+1)*3
}
function summedArea(img: Raster): Sat {
  const { W, H, px } = img;
  const t = new Float64Array((H + 1) * (W + 1) * 3);
  for (let y = 0; y < H; y++) {
    const rs = [0, 0, 0];
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const o = ((y + 1) * (W + 1) + x + 1) * 3;
      const u = (y * (W + 1) + x + 1) * 3;
      for (let c = 0; c < 3; c++) {
        rs[c]! += px[i + c]!;
        t[o + c] = t[u + c]! + rs[c]!;
      }
    }
  }
  return { W, H, t };
}
/** Sum over [x0,x1) x [y0,y1), into acc. */
function rectSum(s: Sat, x0: number, y0: number, x1: number, y1: number, acc: number[]): void {
  const w = s.W + 1;
  for (let c = 0; c < 3; c++) {
    acc[c]! += s.t[(y1 * w + x1) * 3 + c]! - s.t[(y0 * w + x1) * 3 + c]! - s.t[(y1 * w + x0) * 3 + c]! + s.t[(y0 * w + x0) * 3 + c]!;
  }
}
function maskSum(s: Sat, m: Mask, acc: number[]): number {
  let n = 0;
  for (let k = 0; k < m.rows.length; k++) {
    const y = m.y0 + k;
    const row = m.rows[k]!;
    for (let i = 0; i < row.length; i += 2) {
      rectSum(s, row[i]!, y, row[i + 1]!, y + 1, acc);
      n += row[i + 1]! - row[i]!;
    }
  }
  return n;
}
const l1 = (a: readonly number[], b: readonly number[]) => Math.abs(a[0]! - b[0]!) + Math.abs(a[1]! - b[1]!) + Math.abs(a[2]! - b[2]!);

/** The region "around" an object: its box grown by a quarter of its larger side on each side. */
function ringRect(b: Box, W: number, H: number): Box {
  const m = Math.max(6, 0.25 * Math.max(b[2] - b[0], b[3] - b[1]));
  return [
    Math.max(0, Math.floor(b[0] - m)), Math.max(0, Math.floor(b[1] - m)),
    Math.min(W, Math.ceil(b[2] + m)), Math.min(H, Math.ceil(b[3] + m)),
  ];
}

// ---------------------------------------------------------------------------------------------
// Backgrounds: bold saturated textures that are not in the spec's list, plus strong noise.

const SAT_COLORS = {
  hotpink: '#ff1493', cyan: '#00e5ee', lime: '#9aff00', magenta: '#e600e6', eblue: '#1e3cff',
  teal: '#008b8b', crimson: '#dc143c', violet: '#8a2be2', spring: '#00ff7f', deeporange: '#ff5a00',
  navy: '#0a1a8c', turquoise: '#1de9b6', azure: '#007fff', emerald: '#00a86b', royal: '#5b0ea6',
  gold: '#ffc400', chartreuse: '#7fff00', fuchsia: '#ff00aa', forest: '#0b6b1f', scarlet: '#ff2400',
} as const;
type SatName = keyof typeof SAT_COLORS;

type Texture = 'tartan' | 'nested-squares' | 'hatched-bands' | 'sunburst' | 'ring-dots' | 'chevron-scanlines';

interface NoiseSpec {
  lum: number; // sigma of shared (luma) noise
  chroma: number; // sigma of independent per-channel noise
  block: number; // noise cell size in pixels (1 = per pixel)
  salt: number; // share of pixels replaced by a random saturated colour
  scanlines: number; // darkening of every third row (0..1)
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

function textureSvg(tex: Texture, W: number, H: number, rng: Rng, pal: string[]): string {
  const s = Math.min(W, H) / 720;
  const D = Math.hypot(W, H);
  const parts: string[] = [];
  const P = (i: number) => pal[((i % pal.length) + pal.length) % pal.length]!;
  switch (tex) {
    case 'tartan': {
      // A tartan: a base colour crossed by translucent warp and weft bands and pinstripes.
      parts.push(`<rect width="${W}" height="${H}" fill="${P(0)}"/>`);
      for (const vertical of [true, false]) {
        let x = -rng.uni(0, 60) * s;
        const len = vertical ? W : H;
        while (x < len) {
          // Narrow bands: warp/weft crossings stay well below the smallest object size.
          const w = rng.uni(10, 38) * s;
          const fill = P(rng.int(1, pal.length - 1));
          const op = f1(rng.uni(0.5, 0.75));
          parts.push(vertical
            ? `<rect x="${f1(x)}" y="0" width="${f1(w)}" height="${H}" fill="${fill}" fill-opacity="${op}"/>`
            : `<rect x="0" y="${f1(x)}" width="${W}" height="${f1(w)}" fill="${fill}" fill-opacity="${op}"/>`);
          if (rng.next() < 0.6) {
            const pw = Math.max(1.5, 3 * s);
            const px = x + w * rng.uni(0.2, 0.8);
            const pf = rng.pick(['#101010', '#f8f8f8', P(rng.int(0, pal.length - 1))]);
            parts.push(vertical
              ? `<rect x="${f1(px)}" y="0" width="${f1(pw)}" height="${H}" fill="${pf}" fill-opacity="0.85"/>`
              : `<rect x="0" y="${f1(px)}" width="${W}" height="${f1(pw)}" fill="${pf}" fill-opacity="0.85"/>`);
          }
          x += w + rng.uni(6, 40) * s;
        }
      }
      break;
    }
    case 'nested-squares': {
      // Concentric squares (filled from the largest down, so they read as square rings) around a
      // centre outside the frame: only bent L-shaped bands show, never a small square.
      const side = rng.int(0, 3);
      const cx = side === 0 ? -rng.uni(0.04, 0.3) * W : side === 1 ? W * (1 + rng.uni(0.04, 0.3)) : rng.uni(0, W);
      const cy = side === 2 ? -rng.uni(0.05, 0.35) * H : side === 3 ? H * (1 + rng.uni(0.05, 0.35)) : rng.uni(0, H);
      const rot = rng.uni(0, 90);
      const rw = rng.uni(11, 19) * s;
      const far = D + Math.hypot(Math.max(cx, W - cx), Math.max(cy, H - cy));
      const n = Math.ceil(far / rw);
      parts.push(`<g transform="translate(${f1(cx)} ${f1(cy)}) rotate(${f1(rot)})">`);
      for (let k = n; k >= 1; k--) {
        const h = k * rw * (1 + 0.002 * k);
        parts.push(`<rect x="${f1(-h)}" y="${f1(-h)}" width="${f1(2 * h)}" height="${f1(2 * h)}" fill="${P(k)}"/>`);
      }
      parts.push('</g>');
      break;
    }
    case 'hatched-bands': {
      // Narrow diagonal bands of complementary colours under two sets of thin hatching lines.
      const th = rng.uni(20, 70);
      const bw = rng.uni(13, 24) * s;
      parts.push(`<rect width="${W}" height="${H}" fill="${P(0)}"/>`);
      parts.push(`<g transform="rotate(${f1(th)} ${W / 2} ${H / 2})">`);
      let i = 0;
      for (let x = -D; x < D; x += bw, i++) {
        parts.push(`<rect x="${f1(W / 2 + x)}" y="${f1(H / 2 - D)}" width="${f1(bw + 0.5)}" height="${f1(2 * D)}" fill="${P(i)}"/>`);
      }
      parts.push('</g>');
      for (const [dth, col, op, gap] of [[90, '#000000', 0.5, 9], [-35, '#ffffff', 0.3, 13]] as const) {
        parts.push(`<g transform="rotate(${f1(th + dth)} ${W / 2} ${H / 2})">`);
        for (let x = -D; x < D; x += gap * s) {
          parts.push(`<rect x="${f1(W / 2 + x)}" y="${f1(H / 2 - D)}" width="${f1(Math.max(1, 1.6 * s))}" height="${f1(2 * D)}" fill="${col}" fill-opacity="${op}"/>`);
        }
        parts.push('</g>');
      }
      break;
    }
    case 'sunburst': {
      // Many thin rays from a point (often off-frame), a vignette and a sheen.
      const cx = rng.uni(-0.3, 1.3) * W;
      const cy = rng.uni(-0.4, 1.4) * H;
      const n = rng.int(40, 64);
      const a0 = rng.uni(0, Math.PI);
      const R = 3 * D;
      for (let k = 0; k < n; k++) {
        const a = a0 + (k * 2 * Math.PI) / n;
        const b = a0 + ((k + 1) * 2 * Math.PI) / n + 0.002;
        parts.push(`<polygon points="${f1(cx)},${f1(cy)} ${f1(cx + R * Math.cos(a))},${f1(cy + R * Math.sin(a))} ${f1(cx + R * Math.cos(b))},${f1(cy + R * Math.sin(b))}" fill="${P(k)}"/>`);
      }
      const gx = rng.uni(0.2, 0.8) * W, gy = rng.uni(0.2, 0.8) * H;
      parts.push(`<defs><radialGradient id="v" gradientUnits="userSpaceOnUse" cx="${f1(gx)}" cy="${f1(gy)}" r="${f1(D * 0.7)}">` +
        `<stop offset="0" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.45"/></radialGradient>` +
        `<linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#fff" stop-opacity="0.18"/><stop offset="1" stop-color="#fff" stop-opacity="0"/></linearGradient></defs>`);
      parts.push(`<rect width="${W}" height="${H}" fill="url(#v)"/><rect width="${W}" height="${H}" fill="url(#g)"/>`);
      break;
    }
    case 'ring-dots': {
      // Pixel noise (added later) over a bold three-stop gradient, sprinkled with tiny rings and
      // pin dots on a staggered grid (rings are a few pixels across, far below object size).
      const a = rng.uni(0, Math.PI);
      const x1 = 0.5 - 0.5 * Math.cos(a), y1 = 0.5 - 0.5 * Math.sin(a);
      parts.push(`<defs><linearGradient id="g" x1="${f1(x1)}" y1="${f1(y1)}" x2="${f1(1 - x1)}" y2="${f1(1 - y1)}">` +
        `<stop offset="0" stop-color="${P(0)}"/><stop offset="0.5" stop-color="${P(1)}"/><stop offset="1" stop-color="${P(2)}"/></linearGradient></defs>`);
      parts.push(`<rect width="${W}" height="${H}" fill="url(#g)"/>`);
      const ss = Math.max(s, 0.7);
      const sp = rng.uni(22, 32) * ss;
      const rr = rng.uni(3.5, 5.5) * ss;
      const ringCol = P(3);
      const dotCol = P(4);
      let row = 0;
      for (let y = sp / 2; y < H + sp; y += sp * 0.866, row++) {
        for (let x = (row % 2) * sp / 2; x < W + sp; x += sp) {
          parts.push(`<circle cx="${f1(x)}" cy="${f1(y)}" r="${f1(rr)}" fill="none" stroke="${ringCol}" stroke-width="${f1(1.7 * ss)}"/>`);
          parts.push(`<circle cx="${f1(x + sp / 2)}" cy="${f1(y)}" r="${f1(1.3 * ss)}" fill="${dotCol}"/>`);
        }
      }
      break;
    }
    case 'chevron-scanlines': {
      // Thick zigzag (chevron) stripes; scanlines and blocky noise are added later.
      const per = rng.uni(44, 90) * s;
      const amp = rng.uni(12, 26) * s;
      const t = rng.uni(12, 22) * s;
      let i = 0;
      parts.push(`<rect width="${W}" height="${H}" fill="${P(0)}"/>`);
      for (let y = -2 * amp; y < H + 2 * amp; y += t, i++) {
        const pts: string[] = [];
        for (let x = -per, k = 0; x < W + 2 * per; x += per / 2, k++) pts.push(`${f1(x)},${f1(y + (k % 2 ? amp : -amp))}`);
        parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${P(i)}" stroke-width="${f1(t + 0.6)}" stroke-linejoin="miter" stroke-miterlimit="10"/>`);
      }
      break;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
}

async function rasterSvg(svg: string, W: number, H: number): Promise<Buffer> {
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== W || info.height !== H || info.channels !== 3) throw new Error(`svg raster ${info.width}x${info.height}x${info.channels}`);
  return data;
}

function addNoise(px: Buffer, W: number, H: number, n: NoiseSpec, rng: Rng): void {
  const bw = Math.ceil(W / n.block);
  const cell = new Float32Array(bw * 4);
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  for (let y = 0; y < H; y++) {
    if (y % n.block === 0) {
      for (let i = 0; i < bw; i++) {
        cell[i * 4] = rng.gauss() * n.lum;
        for (let c = 0; c < 3; c++) cell[i * 4 + 1 + c] = rng.gauss() * n.chroma;
      }
    }
    const dark = n.scanlines > 0 && y % 3 === 2 ? 1 - n.scanlines : 1;
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const k = Math.floor(x / n.block) * 4;
      if (n.salt > 0 && rng.next() < n.salt) {
        const v = SAT_COLORS[rng.pick(Object.keys(SAT_COLORS) as SatName[])];
        px[i] = parseInt(v.slice(1, 3), 16);
        px[i + 1] = parseInt(v.slice(3, 5), 16);
        px[i + 2] = parseInt(v.slice(5, 7), 16);
        continue;
      }
      for (let c = 0; c < 3; c++) px[i + c] = clamp((px[i + c]! + cell[k]! + cell[k + 1 + c]!) * dark);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Clips.

interface ClipSpec {
  name: string;
  W: number;
  H: number;
  texture: Texture;
  objects: number;
  required: [ColorName, ShapeName][];
  palettes: SatName[][];
  noise: NoiseSpec;
  /** stdDeviation of a light blur on the objects (0 = none) */
  blur: number;
  /** size budget of this clip's MP4 in KiB, instead of the default from --clip-kib */
  kib?: number;
}

const CLIPS: ClipSpec[] = [
  {
    name: 'robust01-1280x720-tartan-heldout', W: 1280, H: 720, texture: 'tartan', objects: 4,
    required: [['purple', 'star'], ['orange', 'cross']],
    palettes: [['cyan', 'hotpink', 'spring', 'azure', 'lime'], ['spring', 'fuchsia', 'cyan', 'chartreuse', 'azure']],
    noise: { lum: 22, chroma: 14, block: 1, salt: 0, scanlines: 0 }, blur: 0,
  },
  {
    name: 'robust02-1280x720-nested-squares-heldout', W: 1280, H: 720, texture: 'nested-squares', objects: 5,
    required: [['white', 'triangle'], ['yellow', 'square']],
    palettes: [['crimson', 'eblue', 'royal', 'teal', 'navy'], ['forest', 'royal', 'crimson', 'eblue'], ['navy', 'crimson', 'teal', 'violet']],
    noise: { lum: 20, chroma: 16, block: 1, salt: 0.004, scanlines: 0 }, blur: 0.6,
  },
  {
    name: 'robust03-1280x720-hatched-bands-heldout', W: 1280, H: 720, texture: 'hatched-bands', objects: 6,
    required: [['purple', 'star'], ['orange', 'cross'], ['white', 'triangle'], ['yellow', 'square']],
    palettes: [['magenta', 'lime'], ['hotpink', 'spring'], ['fuchsia', 'chartreuse'], ['magenta', 'spring', 'hotpink', 'lime']],
    noise: { lum: 18, chroma: 14, block: 1, salt: 0, scanlines: 0 }, blur: 0, kib: 335,
  },
  {
    name: 'robust04-1280x720-sunburst', W: 1280, H: 720, texture: 'sunburst', objects: 1,
    required: [],
    palettes: [['deeporange', 'azure', 'gold', 'royal'], ['scarlet', 'cyan', 'magenta', 'lime'], ['hotpink', 'emerald', 'eblue', 'gold']],
    noise: { lum: 24, chroma: 12, block: 1, salt: 0.01, scanlines: 0 }, blur: 0,
  },
  {
    name: 'robust05-640x360-ring-dots-heldout', W: 640, H: 360, texture: 'ring-dots', objects: 2,
    required: [['purple', 'star'], ['yellow', 'square']],
    palettes: [['hotpink', 'cyan', 'spring', 'navy', 'gold'], ['cyan', 'hotpink', 'spring', 'crimson', 'eblue']],
    noise: { lum: 26, chroma: 16, block: 1, salt: 0, scanlines: 0 }, blur: 0.5,
  },
  {
    name: 'robust06-640x360-chevron-scanlines', W: 640, H: 360, texture: 'chevron-scanlines', objects: 5,
    required: [],
    palettes: [['violet', 'gold', 'teal', 'scarlet'], ['azure', 'deeporange', 'fuchsia', 'emerald'], ['turquoise', 'crimson', 'gold', 'royal']],
    noise: { lum: 20, chroma: 12, block: 2, salt: 0, scanlines: 0.3 }, blur: 0,
  },
];

interface PlannedObject {
  color: ColorName;
  shape: ShapeName;
  rgb: RGB;
  poses: Pose[];
  boxes: Box[];
  masks: Mask[];
  areas: number[];
}

interface FrameStats {
  minRingContrast: number;
  minUnderContrast: number;
  maxPairOverlap: number; // |A∩B| / min(|A|,|B|)
  maxCovered: number; // share of an object's pixels under objects drawn later
  overlapFrames: number; // frames where some pair overlaps by > 2% of the smaller one
}

function simulate(shape: ShapeName, start: Pose, vx: number, vy: number, omega: number, W: number, H: number): { poses: Pose[]; boxes: Box[] } {
  const poses: Pose[] = [];
  const boxes: Box[] = [];
  let p = { ...start };
  for (let f = 0; f < FRAMES; f++) {
    if (f > 0) p = { cx: p.cx + vx / FPS, cy: p.cy + vy / FPS, r: p.r, ang: p.ang + omega / FPS };
    // Bounce: when the box crosses an edge, step back inside and reverse that velocity component.
    let b = shapeBox(shape, p);
    if (b[0] < 0) { p.cx -= b[0]; vx = Math.abs(vx); }
    if (b[2] > W) { p.cx -= b[2] - W; vx = -Math.abs(vx); }
    if (b[1] < 0) { p.cy -= b[1]; vy = Math.abs(vy); }
    if (b[3] > H) { p.cy -= b[3] - H; vy = -Math.abs(vy); }
    b = shapeBox(shape, p);
    poses.push({ ...p });
    boxes.push(b);
  }
  return { poses, boxes };
}

function jitter(c: ColorName, rng: Rng): RGB {
  return CANON[c].map((v) => Math.max(0, Math.min(255, v + rng.int(-JITTER, JITTER)))) as RGB;
}

interface Plan {
  spec: ClipSpec;
  bg: Buffer;
  objects: PlannedObject[];
  stats: FrameStats;
  bgAttempts: number;
  palette: SatName[];
}

async function planClip(spec: ClipSpec, rng: Rng): Promise<Plan> {
  const { W, H } = spec;
  const short = Math.min(W, H);
  for (let attempt = 1; attempt <= 12; attempt++) {
    const palette = rng.shuffle(rng.pick(spec.palettes));
    const bg = await rasterSvg(textureSvg(spec.texture, W, H, rng, palette.map((n) => SAT_COLORS[n])), W, H);
    addNoise(bg, W, H, spec.noise, rng);
    const sat = summedArea({ W, H, px: bg });
    const objects: PlannedObject[] = [];
    const stats: FrameStats = { minRingContrast: Infinity, minUnderContrast: Infinity, maxPairOverlap: 0, maxCovered: 0, overlapFrames: 0 };
    const covered: number[][] = []; // covered[i][f]: pixels of object i under objects drawn after it
    let ok = true;
    for (let k = 0; k < spec.objects && ok; k++) {
      const req = spec.required[k];
      // The first object that may overlap is asked to travel alongside an earlier one.
      const wantCompanion = k > 0 && (k === 1 || rng.next() < 0.5);
      let placed = false;
      for (let tryN = 0; tryN < 1500 && !placed; tryN++) {
        const color = req ? req[0] : rng.pick(COLORS);
        const shape = req ? req[1] : rng.pick(SHAPES);
        const rgb = jitter(color, rng);
        const side = rng.uni(0.1, 0.335) * short; // box side bound = 2 * circumradius
        const r = side / 2;
        const speed = rng.uni(0.05, 0.24) * short;
        let dir = rng.uni(0, 2 * Math.PI);
        let cx = rng.uni(r, W - r);
        let cy = rng.uni(r, H - r);
        let vx = speed * Math.cos(dir);
        let vy = speed * Math.sin(dir);
        let mate = -1;
        if (wantCompanion && tryN < 1000) {
          mate = rng.int(0, objects.length - 1);
          const m = objects[mate]!;
          const mp = m.poses[0]!;
          const d = (mp.r + r) * rng.uni(0.55, 0.95);
          const a = rng.uni(0, 2 * Math.PI);
          cx = Math.min(W - r, Math.max(r, mp.cx + d * Math.cos(a)));
          cy = Math.min(H - r, Math.max(r, mp.cy + d * Math.sin(a)));
          const mv = [(m.poses[1]!.cx - mp.cx) * FPS, (m.poses[1]!.cy - mp.cy) * FPS];
          vx = mv[0]! * rng.uni(0.8, 1.2) + rng.uni(-0.04, 0.04) * short;
          vy = mv[1]! * rng.uni(0.8, 1.2) + rng.uni(-0.04, 0.04) * short;
          dir = Math.atan2(vy, vx);
        }
        const omega = (rng.next() < 0.5 ? -1 : 1) * rng.uni(6, 40) * (Math.PI / 180);
        const start: Pose = { cx, cy, r, ang: rng.uni(0, 2 * Math.PI) };
        const { poses, boxes } = simulate(shape, start, vx, vy, omega, W, H);
        // Size: both box sides in range on every frame.
        if (!boxes.every((b) => {
          const w = (b[2] - b[0]) / short, h = (b[3] - b[1]) / short;
          return w >= SIZE_MIN && h >= SIZE_MIN && w <= SIZE_MAX && h <= SIZE_MAX;
        })) continue;
        // Contrast on every frame, against the noisy background around it and right under it.
        const masks: Mask[] = [];
        const areas: number[] = [];
        let minRing = Infinity, minUnder = Infinity, good = true;
        for (let f = 0; f < FRAMES && good; f++) {
          const m = mask(shape, poses[f]!, W, H);
          const [x0, y0, x1, y1] = ringRect(boxes[f]!, W, H);
          const all = [0, 0, 0];
          rectSum(sat, x0, y0, x1, y1, all);
          const under = [0, 0, 0];
          const n = maskSum(sat, m, under);
          const nAll = (x1 - x0) * (y1 - y0);
          const ring = all.map((v, c) => (v - under[c]!) / (nAll - n));
          const cr = l1(rgb, ring);
          const cu = l1(rgb, under.map((v) => v / n));
          minRing = Math.min(minRing, cr);
          minUnder = Math.min(minUnder, cu);
          if (cr < CONTRAST_RING || cu < CONTRAST_UNDER) good = false;
          masks.push(m);
          areas.push(n);
        }
        if (!good) continue;
        // Overlap with everything drawn before (this object goes on top of them).
        let maxPair = 0, maxCov = 0, overlapFrames = 0, mateFrames = 0;
        const newCovered: number[][] = covered.map((c) => [...c]);
        for (let f = 0; f < FRAMES && good; f++) {
          let anyOverlap = false;
          for (let i = 0; i < objects.length && good; i++) {
            const o = objects[i]!;
            const bi = o.boxes[f]!, bc = boxes[f]!;
            if (bi[0] > bc[2] || bc[0] > bi[2] || bi[1] > bc[3] || bc[1] > bi[3]) continue;
            const inter = intersectArea(o.masks[f]!, masks[f]!);
            if (inter === 0) continue;
            const frac = inter / Math.min(o.areas[f]!, areas[f]!);
            // Overlapping objects must also be told apart from each other.
            if (l1(o.rgb, rgb) < 120) good = false;
            const above = objects.slice(i + 1).map((q) => q.masks[f]!);
            const cov = coveredBy(o.masks[f]!, [...above, masks[f]!]);
            newCovered[i]![f] = cov;
            maxPair = Math.max(maxPair, frac);
            maxCov = Math.max(maxCov, cov / o.areas[f]!);
            if (frac > OVERLAP_MAX || cov / o.areas[f]! > OVERLAP_MAX) good = false;
            if (frac > 0.02) {
              anyOverlap = true;
              if (i === mate) mateFrames++;
            }
          }
          if (anyOverlap) overlapFrames++;
        }
        if (!good) continue;
        if (mate >= 0 && mateFrames < 12) continue;
        objects.push({ color, shape, rgb, poses, boxes, masks, areas });
        covered.splice(0, covered.length, ...newCovered, new Array<number>(FRAMES).fill(0));
        stats.minRingContrast = Math.min(stats.minRingContrast, minRing);
        stats.minUnderContrast = Math.min(stats.minUnderContrast, minUnder);
        stats.maxPairOverlap = Math.max(stats.maxPairOverlap, maxPair);
        stats.maxCovered = Math.max(stats.maxCovered, maxCov);
        placed = true;
      }
      if (!placed) ok = false;
    }
    if (!ok) {
      console.log(`  ${spec.name}: background ${attempt} could not hold all objects, trying another`);
      continue;
    }
    // Frames in which any pair overlaps.
    for (let f = 0; f < FRAMES; f++) {
      let any = false;
      for (let i = 0; i < objects.length && !any; i++) {
        for (let j = i + 1; j < objects.length && !any; j++) {
          const a = objects[i]!, b = objects[j]!;
          const inter = intersectArea(a.masks[f]!, b.masks[f]!);
          if (inter > 0.02 * Math.min(a.areas[f]!, b.areas[f]!)) any = true;
        }
      }
      if (any) stats.overlapFrames++;
    }
    return { spec, bg, objects, stats, bgAttempts: attempt, palette };
  }
  throw new Error(`${spec.name}: no background/trajectory plan satisfied the rules`);
}

// ---------------------------------------------------------------------------------------------
// Rendering and encoding.

function objectsSvg(plan: Plan, f: number): string {
  const { W, H, blur } = plan.spec;
  const els: string[] = [];
  for (const o of plan.objects) {
    const p = o.poses[f]!;
    const fill = `rgb(${o.rgb.join(',')})`;
    const v = verts(o.shape, p);
    els.push(v
      ? `<polygon points="${v.map(([x, y]) => `${x.toFixed(3)},${y.toFixed(3)}`).join(' ')}" fill="${fill}"/>`
      : `<circle cx="${p.cx.toFixed(3)}" cy="${p.cy.toFixed(3)}" r="${p.r.toFixed(3)}" fill="${fill}"/>`);
  }
  const defs = blur > 0
    ? `<defs><filter id="b" filterUnits="userSpaceOnUse" x="0" y="0" width="${W}" height="${H}"><feGaussianBlur stdDeviation="${blur}"/></filter></defs>`
    : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${defs}<g${blur > 0 ? ' filter="url(#b)"' : ''}>${els.join('')}</g></svg>`;
}

async function renderFrame(plan: Plan, f: number): Promise<Buffer> {
  const { W, H } = plan.spec;
  const { data, info } = await sharp(plan.bg, { raw: { width: W, height: H, channels: 3 } })
    .composite([{ input: Buffer.from(objectsSvg(plan, f)), left: 0, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== W * H * 3) throw new Error(`frame raster ${info.width}x${info.height}x${info.channels}`);
  return data;
}

async function renderAll(plan: Plan): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (let f = 0; f < FRAMES; f++) frames.push(await renderFrame(plan, f));
  return frames;
}

async function encode(plan: Plan, frames: Buffer[], file: string, crf: number): Promise<void> {
  const { W, H } = plan.spec;
  const ff = spawn('/usr/bin/ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(FPS), '-i', '-',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', String(crf), '-preset', 'slow', '-movflags', '+faststart',
    file,
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  ff.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = once(ff, 'close');
  for (const frame of frames) {
    if (!ff.stdin.write(frame)) await once(ff.stdin, 'drain');
  }
  ff.stdin.end();
  const [code] = (await done) as [number];
  if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${err}`);
}

const r2 = (v: number) => Math.round(v * 100) / 100;

function truthJson(plan: Plan): string {
  const { W, H } = plan.spec;
  const frames = Array.from({ length: FRAMES }, (_, f) => ({
    index: f,
    objects: plan.objects.map((o) => ({ color: o.color, shape: o.shape, box: o.boxes[f]!.map(r2) })),
  }));
  // One frame per line keeps the file readable and diffable.
  const lines = frames.map((fr) => `    ${JSON.stringify(fr)}`);
  return `{ "width": ${W}, "height": ${H}, "fps": ${FPS},\n  "frames": [\n${lines.join(',\n')}\n  ] }\n`;
}

// ---------------------------------------------------------------------------------------------
// Checking the decoded clip, and annotated frames.

async function* decodeFrames(file: string, W: number, H: number): AsyncGenerator<Buffer> {
  const ff = spawn('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const size = W * H * 3;
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= size) {
      yield Buffer.from(buf.subarray(0, size));
      buf = buf.subarray(size);
    }
  }
}

interface DecodedCheck {
  frames: number;
  minContrast: number;
  below120: number;
  worst: string;
}

/**
 * On decoded pixels: an object's colour is the mean over its core (the shape shrunk to 80%, minus
 * anything drawn above it, grown by 12%); the background around it is the mean over its grown box
 * minus every object (grown by 12%).
 */
async function checkDecoded(plan: Plan, file: string, annotate: { dir: string; frames: number[] } | null): Promise<DecodedCheck> {
  const { W, H } = plan.spec;
  let f = 0, minContrast = Infinity, below = 0, worst = '';
  for await (const px of decodeFrames(file, W, H)) {
    const grown = plan.objects.map((o) => mask(o.shape, o.poses[f]!, W, H, 1.12));
    plan.objects.forEach((o, i) => {
      const core = mask(o.shape, o.poses[f]!, W, H, 0.8);
      const inner = [0, 0, 0];
      let nIn = 0;
      core.rows.forEach((row, k) => {
        const y = core.y0 + k;
        const above = union(grown.slice(i + 1).map((g) => rowOf(g, y)));
        const keep = subtract(row, above);
        for (let q = 0; q < keep.length; q += 2) for (let x = keep[q]!; x < keep[q + 1]!; x++) {
          const j = (y * W + x) * 3;
          inner[0]! += px[j]!; inner[1]! += px[j + 1]!; inner[2]! += px[j + 2]!; nIn++;
        }
      });
      const [x0, y0, x1, y1] = ringRect(o.boxes[f]!, W, H);
      const ring = [0, 0, 0];
      let nR = 0;
      for (let y = y0; y < y1; y++) {
        const keep = subtract([x0, x1], union(grown.map((g) => rowOf(g, y))));
        for (let q = 0; q < keep.length; q += 2) for (let x = keep[q]!; x < keep[q + 1]!; x++) {
          const j = (y * W + x) * 3;
          ring[0]! += px[j]!; ring[1]! += px[j + 1]!; ring[2]! += px[j + 2]!; nR++;
        }
      }
      if (nIn < 20 || nR < 20) return;
      const d = l1(inner.map((v) => v / nIn), ring.map((v) => v / nR));
      if (d < minContrast) {
        minContrast = d;
        worst = `frame ${f} ${o.color} ${o.shape}`;
      }
      if (d < 120) below++;
    });
    if (annotate && annotate.frames.includes(f)) await writeAnnotated(plan, f, px, path.join(annotate.dir, `${plan.spec.name}-f${String(f).padStart(2, '0')}.png`));
    f++;
  }
  return { frames: f, minContrast, below120: below, worst };
}

/**
 * Box check against the rasteriser itself: each object alone, unblurred, rasterised by librsvg;
 * the extent of its pixels with any coverage must match the exact box to within a pixel.
 * Returns the largest gap, in pixels, between a box edge and the rasterised extent.
 */
async function checkBoxesOnRaster(plan: Plan, frames: number[]): Promise<number> {
  const { W, H } = plan.spec;
  let worst = 0;
  for (const f of frames) {
    for (const o of plan.objects) {
      const solo: Plan = { ...plan, spec: { ...plan.spec, blur: 0 }, objects: [o] };
      const { data } = await sharp(Buffer.from(objectsSvg(solo, f))).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      let x0 = W, y0 = H, x1 = -1, y1 = -1;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        if (data[(y * W + x) * 4 + 3]! > 0) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
      const b = o.boxes[f]!;
      // Pixel x covers [x, x+1): the raster extent is [x0, x1+1).
      const gap = Math.max(Math.abs(b[0] - x0), Math.abs(b[1] - y0), Math.abs(b[2] - (x1 + 1)), Math.abs(b[3] - (y1 + 1)));
      worst = Math.max(worst, gap);
    }
  }
  return worst;
}

/**
 * Overlap again, on librsvg's own anti-aliased masks rather than this file's span masks: each
 * object alone is rasterised; per frame, the share of an object's (alpha-weighted) area that lies
 * under each later object, and under all later objects together.
 */
async function checkOverlapOnRaster(plan: Plan): Promise<{ maxPair: number; maxCovered: number }> {
  const { W, H } = plan.spec;
  let maxPair = 0, maxCovered = 0;
  for (let f = 0; f < FRAMES; f++) {
    const alphas: Buffer[] = [];
    for (const o of plan.objects) {
      const solo: Plan = { ...plan, spec: { ...plan.spec, blur: 0 }, objects: [o] };
      alphas.push((await sharp(Buffer.from(objectsSvg(solo, f))).ensureAlpha().extractChannel(3).raw().toBuffer()));
    }
    plan.objects.forEach((o, i) => {
      const [bx0, by0, bx1, by1] = o.boxes[f]!.map((v, k) => (k < 2 ? Math.max(0, Math.floor(v)) : Math.min(k === 2 ? W : H, Math.ceil(v))));
      const ai = alphas[i]!;
      let area = 0, under = 0;
      const pair = new Array<number>(plan.objects.length).fill(0);
      for (let y = by0!; y < by1!; y++) for (let x = bx0!; x < bx1!; x++) {
        const a = ai[y * W + x]! / 255;
        if (!a) continue;
        area += a;
        let free = 1;
        for (let j = i + 1; j < plan.objects.length; j++) {
          const b = alphas[j]![y * W + x]! / 255;
          if (!b) continue;
          free *= 1 - b;
          pair[j]! += a * b;
        }
        under += a * (1 - free);
      }
      maxCovered = Math.max(maxCovered, under / area);
      for (let j = i + 1; j < plan.objects.length; j++) {
        if (!pair[j]) continue;
        const aj = plan.objects[j]!.areas[f]!;
        maxPair = Math.max(maxPair, pair[j]! / Math.min(area, aj));
      }
    });
  }
  return { maxPair, maxCovered };
}

async function writeAnnotated(plan: Plan, f: number, px: Buffer, out: string): Promise<void> {
  const { W, H } = plan.spec;
  const els = plan.objects.map((o) => {
    const [x1, y1, x2, y2] = o.boxes[f]!;
    const ty = y1 > 16 ? y1 - 4 : y2 + 14;
    return `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="#ffffff" stroke-width="1"/>` +
      `<rect x="${x1 - 1}" y="${y1 - 1}" width="${x2 - x1 + 2}" height="${y2 - y1 + 2}" fill="none" stroke="#000000" stroke-width="1"/>` +
      `<text x="${x1}" y="${ty}" font-family="sans-serif" font-size="13" fill="#fff" stroke="#000" stroke-width="3" paint-order="stroke">${o.color} ${o.shape}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${els.join('')}</svg>`;
  await sharp(px, { raw: { width: W, height: H, channels: 3 } }).composite([{ input: Buffer.from(svg), left: 0, top: 0 }]).png().toFile(out);
}

// ---------------------------------------------------------------------------------------------

function args() {
  const a = process.argv.slice(2);
  const get = (k: string) => {
    const i = a.indexOf(`--${k}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  return {
    out: get('out') ?? 'fixtures/robust',
    seed: Number(get('seed') ?? 777),
    crf: Number(get('crf') ?? 28),
    clipKib: Number(get('clip-kib') ?? 250),
    only: get('only') ? get('only')!.split(',').map(Number) : null,
    annotate: get('annotate') ?? null,
    annotateFrames: (get('annotate-frames') ?? '0,45,89').split(',').map(Number),
  };
}

async function main() {
  const opt = args();
  await mkdir(opt.out, { recursive: true });
  if (opt.annotate) await mkdir(opt.annotate, { recursive: true });
  sharp.concurrency(1);
  let total = 0;
  for (const [i, spec] of CLIPS.entries()) {
    if (opt.only && !opt.only.includes(i + 1)) continue;
    const t0 = Date.now();
    const rng = new Rng(Math.imul(opt.seed, 1000003) + (i + 1) * 7919);
    const plan = await planClip(spec, rng);
    const mp4 = path.join(opt.out, `${spec.name}.mp4`);
    const truth = path.join(opt.out, `${spec.name}.truth.json`);
    // Size budget: --clip-kib for a 1280x720 clip, scaled by (pixels ratio)^0.6 for other sizes.
    // Start at --crf and raise it (x264 roughly halves the bits per +6) until the clip fits.
    const budget = (spec.kib ?? opt.clipKib * Math.pow((spec.W * spec.H) / (1280 * 720), 0.6)) * 1024;
    const frames = await renderAll(plan);
    let crf = opt.crf;
    const tried: string[] = [];
    for (;;) {
      await encode(plan, frames, mp4, crf);
      const sz = (await stat(mp4)).size;
      tried.push(`crf ${crf}: ${(sz / 1024).toFixed(0)} KiB`);
      if (sz <= budget || crf >= 45) break;
      crf = Math.min(45, crf + Math.max(1, Math.ceil(6 * Math.log2(sz / budget))));
    }
    frames.length = 0;
    await writeFile(truth, truthJson(plan));
    const chk = await checkDecoded(plan, mp4, opt.annotate ? { dir: opt.annotate, frames: opt.annotateFrames } : null);
    const rasterGap = await checkBoxesOnRaster(plan, [0, 30, 60, 89]);
    const rasterOverlap = await checkOverlapOnRaster(plan);
    const size = (await stat(mp4)).size + (await stat(truth)).size;
    total += size;
    const st = plan.stats;
    console.log(`${spec.name}: ${plan.objects.map((o) => `${o.color} ${o.shape}`).join(', ')}`);
    console.log(`  encode: ${tried.join(', ')}`);
    console.log(`  palette ${plan.palette.join('/')} (background try ${plan.bgAttempts}); ${(size / 1024).toFixed(0)} KiB; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`  planned: min contrast ring ${st.minRingContrast.toFixed(0)} / under ${st.minUnderContrast.toFixed(0)}; max pair overlap ${(100 * st.maxPairOverlap).toFixed(1)}%, max covered ${(100 * st.maxCovered).toFixed(1)}%; ${st.overlapFrames} frames with overlap`);
    console.log(`  boxes vs librsvg coverage extent (frames 0/30/60/89): largest gap ${rasterGap.toFixed(2)} px`);
    console.log(`  overlap on librsvg masks: max pair ${(100 * rasterOverlap.maxPair).toFixed(1)}%, max covered ${(100 * rasterOverlap.maxCovered).toFixed(1)}%`);
    console.log(`  decoded: ${chk.frames} frames; min contrast ${chk.minContrast.toFixed(0)} (${chk.worst}); ${chk.below120} object-frames below 120`);
    if (chk.frames !== FRAMES) throw new Error(`${mp4}: decoded ${chk.frames} frames, expected ${FRAMES}`);
  }
  console.log(`total ${(total / 1024).toFixed(0)} KiB`);
}

await main();
