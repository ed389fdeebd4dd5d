/**
 * Reads a clip's truth file (SHAPES_WORLD.md: `<clip>.truth.json`) and checks its shape, so that a
 * malformed one is refused up front, naming the file and the first thing wrong, instead of
 * crashing mid-score or scoring garbage. Checked by hand: ajv has one door (protocol/validator.ts),
 * and the shape is small.
 */
import { readFileSync } from 'node:fs';
import { GroundstreamError } from '../errors.js';
import type { Truth } from './shapes-world.js';

function invalid(path: string, detail: string): never {
  throw new GroundstreamError('CONFIG_INVALID', `truth file ${path}: ${detail}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const count = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** One object: colour and shape words, and a box [x1, y1, x2, y2] with x1 <= x2, y1 <= y2. */
function checkObject(o: unknown, where: string, path: string): void {
  if (!isObject(o)) invalid(path, `${where} is not an object`);
  if (typeof o.color !== 'string' || typeof o.shape !== 'string') invalid(path, `${where} lacks "color" or "shape" (strings)`);
  const b = o.box;
  if (!Array.isArray(b) || b.length !== 4 || !b.every(finite)) invalid(path, `${where}.box must be [x1, y1, x2, y2] (4 numbers), got ${JSON.stringify(b)}`);
  const [x1, y1, x2, y2] = b as [number, number, number, number];
  if (x1 > x2 || y1 > y2) invalid(path, `${where}.box ${JSON.stringify(b)} has x1 > x2 or y1 > y2`);
}

/**
 * Checks a parsed truth file: `frames` a list of `{index, objects}` with distinct integer indices
 * from 0, each object with `color`, `shape` and `box`; `width`, `height`, `fps` numbers where
 * given; `frameCount` (the clip's length in decoded frames, optional) an integer above every index.
 * Throws CONFIG_INVALID naming `path`.
 */
export function checkTruth(t: unknown, path: string): Truth {
  if (!isObject(t)) invalid(path, 'not a JSON object');
  for (const k of ['width', 'height', 'fps'] as const) {
    if (t[k] !== undefined && !(finite(t[k]) && t[k] > 0)) invalid(path, `"${k}" must be a positive number, got ${JSON.stringify(t[k])}`);
  }
  if (!Array.isArray(t.frames)) invalid(path, 'no "frames" list');
  const seen = new Set<number>();
  t.frames.forEach((f: unknown, i: number) => {
    const where = `frames[${i}]`;
    if (!isObject(f)) invalid(path, `${where} is not an object`);
    if (!count(f.index)) invalid(path, `${where}.index must be an integer >= 0 (a decoded frame, from 0), got ${JSON.stringify(f.index)}`);
    if (seen.has(f.index)) invalid(path, `${where}: frame ${f.index} is annotated twice`);
    seen.add(f.index);
    if (!Array.isArray(f.objects)) invalid(path, `${where} has no "objects" list`);
    f.objects.forEach((o: unknown, j: number) => checkObject(o, `${where}.objects[${j}]`, path));
  });
  if (t.frameCount !== undefined) {
    const highest = Math.max(-1, ...seen);
    if (!(count(t.frameCount) && t.frameCount > highest)) {
      invalid(path, `"frameCount" must be an integer above the highest annotated index ${highest}, got ${JSON.stringify(t.frameCount)}`);
    }
  }
  return t as unknown as Truth;
}

/** Reads and checks a truth file. Throws CONFIG_INVALID: not found, not JSON, or malformed. */
export function readTruth(path: string): Truth {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new GroundstreamError('CONFIG_INVALID', `truth file not found: ${path}`);
    return invalid(path, (e as Error).message);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return invalid(path, `not valid JSON: ${(e as Error).message}`);
  }
  return checkTruth(parsed, path);
}
