/** Inputs shared by the benchmarks: the fixture stills, pre-decoded video frames, and queries. */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ffmpegPath } from '../../src/ingest/index.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'fixtures');
export const MODELS = join(ROOT, 'models');

export interface Still {
  name: string;
  path: string;
  bytes: Uint8Array;
}

export function stills(): Still[] {
  const dir = join(FIXTURES, 'stills');
  return readdirSync(dir)
    .filter((f) => /\.(jpg|png|webp)$/.test(f))
    .sort()
    .map((name) => ({ name, path: join(dir, name), bytes: new Uint8Array(readFileSync(join(dir, name))) }));
}

/** A clip's frames decoded once by ffmpeg to `size` x `size` packed RGB (what a source emits). */
export interface DecodedClip {
  clip: string;
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  frames: Uint8Array[];
}

export function decodeClip(clip: string, size: number, sourceWidth: number, sourceHeight: number, maxFrames = 150): DecodedClip {
  const r = spawnSync(
    ffmpegPath(),
    ['-nostdin', '-loglevel', 'error', '-i', clip, '-frames:v', String(maxFrames), '-vf', `scale=${size}:${size}:flags=bilinear`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'],
    { maxBuffer: 1 << 30 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${clip}: ${String(r.stderr)}`);
  const bytes = size * size * 3;
  const frames: Uint8Array[] = [];
  for (let at = 0; at + bytes <= r.stdout.length; at += bytes) frames.push(new Uint8Array(r.stdout.buffer, r.stdout.byteOffset + at, bytes));
  if (!frames.length) throw new Error(`no frames in ${clip}`);
  return { clip, width: size, height: size, sourceWidth, sourceHeight, frames };
}

export const COLORS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'white', 'black'] as const;
export const SHAPES = ['circle', 'square', 'triangle', 'star', 'cross'] as const;

/** 133 distinct queries in the shapes world's words (colour shape, a colour shape, small ...). */
export function queryVocabulary(): string[] {
  const out: string[] = [];
  for (const c of COLORS) for (const s of SHAPES) out.push(`${c} ${s}`);
  for (const c of COLORS) for (const s of SHAPES) out.push(`a ${c} ${s}`);
  for (const c of COLORS) for (const s of SHAPES) out.push(`small ${c} ${s}`);
  for (const c of COLORS) out.push(`${c} object`);
  for (const s of SHAPES) out.push(s);
  return out;
}

/** The first `n` queries of the vocabulary. */
export function queries(n: number): string[] {
  const v = queryVocabulary();
  if (n > v.length) throw new RangeError(`at most ${v.length} queries`);
  return v.slice(0, n);
}

/** The 8 queries of the issue-3 targets. */
export const QUERIES_8 = ['red circle', 'blue square', 'green triangle', 'yellow star', 'purple cross', 'orange circle', 'white square', 'black star'];

/** A small deterministic PRNG (mulberry32) so that every run draws the same query sets. */
export { mulberry32 as prng } from '../../tests/helpers/prng.js';
