import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'fixtures');

export interface TruthObject {
  color: string;
  shape: string;
  box: [number, number, number, number];
}
export interface Truth {
  width: number;
  height: number;
  fps: number;
  frames: { index: number; objects: TruthObject[] }[];
}

export function stills(): { path: string; truth: Truth }[] {
  const dir = join(FIXTURES, 'stills');
  return readdirSync(dir)
    .filter((f) => /\.(jpg|png|webp)$/.test(f))
    .sort()
    .map((f) => ({ path: join(dir, f), truth: JSON.parse(readFileSync(join(dir, f.replace(/\.\w+$/, '.truth.json')), 'utf8')) as Truth }));
}

export function clips(): { path: string; truth: Truth }[] {
  const dir = join(FIXTURES, 'clips');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.mp4'))
    .sort()
    .map((f) => ({ path: join(dir, f), truth: JSON.parse(readFileSync(join(dir, f.replace(/\.mp4$/, '.truth.json')), 'utf8')) as Truth }));
}
