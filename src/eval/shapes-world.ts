/**
 * The shapes world's vocabulary and query grammar (SHAPES_WORLD.md v1), for scoring: which truth
 * objects a query matches, and the standard query set the scores are computed over.
 */
import { GroundstreamError } from '../errors.js';

export const COLORS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'white', 'black'] as const;
export const SHAPES = ['circle', 'square', 'triangle', 'star', 'cross'] as const;
export const HELD_OUT = ['purple star', 'orange cross', 'white triangle', 'yellow square'] as const;

export interface TruthObject {
  color: string;
  shape: string;
  box: [number, number, number, number];
}
export interface TruthFrame {
  index: number;
  objects: TruthObject[];
}
export interface Truth {
  width: number;
  height: number;
  fps: number;
  /** The clip's length in decoded frames, when the truth annotates only some of them (optional;
   * without it a truth says nothing about frames after its highest index). */
  frameCount?: number;
  frames: TruthFrame[];
}

/** Where a clip's truth file is (SHAPES_WORLD.md): beside it, `<clip>.truth.json`. */
export function truthPathFor(clip: string): string {
  return clip.replace(/\.[^./\\]+$/, '.truth.json');
}

/**
 * Truth frames by their `index` (decoded frames from 0), and `length`: the highest index + 1. That
 * is not the clip's length (a truth may annotate only some frames, the first half say): only
 * `frameCount` or the clip itself says that. Frames without an entry are not scored.
 */
export function truthByIndex(truth: Truth): { get(index: number): TruthFrame | undefined; length: number } {
  const map = new Map<number, TruthFrame>();
  truth.frames.forEach((f, i) => map.set(Number.isInteger(f.index) ? f.index : i, f));
  const length = map.size ? Math.max(...map.keys()) + 1 : 0;
  return { get: (index) => map.get(index), length };
}

/** A parsed query: null colour or shape means any; `unknown` names nothing in the world. */
export interface WorldQuery {
  text: string;
  color: string | null;
  shape: string | null;
  unknown: boolean;
}

const PLURALS: Record<string, string> = {
  circles: 'circle', squares: 'square', triangles: 'triangle', stars: 'star', crosses: 'cross',
  shapes: 'shape', objects: 'object', things: 'thing',
};

/** Parses a query by the world's grammar; anything outside it is `unknown` (matches nothing). */
export function parseWorldQuery(text: string): WorldQuery {
  const words = text.toLowerCase().replace(/[^a-z\s]/g, ' ').split(/\s+/).filter(Boolean).map((w) => PLURALS[w] ?? w);
  if (['a', 'an', 'the'].includes(words[0] ?? '')) words.shift();
  let color: string | null = null;
  if ((COLORS as readonly string[]).includes(words[0] ?? '')) color = words.shift()!;
  const noun = words.shift();
  const shape = noun && (SHAPES as readonly string[]).includes(noun) ? noun : null;
  const generic = noun === 'object' || noun === 'thing' || noun === 'shape';
  const unknown = words.length > 0 || (!shape && !generic) || (!shape && !color);
  return { text, color, shape, unknown };
}

export function matches(q: WorldQuery, o: { color: string; shape: string }): boolean {
  return !q.unknown && (q.color === null || q.color === o.color) && (q.shape === null || q.shape === o.shape);
}

/** SHAPES_WORLD.md's scoring set: 40 colour-shape pairs, 5 shapes, 8 `<colour> object`. */
export function scoringQueries(): string[] {
  return [
    ...COLORS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`)),
    ...SHAPES,
    ...COLORS.map((c) => `${c} object`),
  ];
}

/** A truth file made for another clip scores it 0 without a word: its size must be the clip's. */
export function checkTruthSize(truth: Truth, width: number, height: number, what: string): void {
  if (truth.width === undefined || truth.height === undefined) return;
  if (truth.width !== width || truth.height !== height) {
    throw new GroundstreamError('CONFIG_INVALID', `the truth is for ${truth.width}x${truth.height} frames, but ${what} is ${width}x${height}: is it this clip's truth?`);
  }
}
