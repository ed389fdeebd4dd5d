/**
 * The memory benchmark's body, run in a fresh process (see memory.ts): detect() called again and
 * again with changing query sets (sizes 1 to 16, drawn from the vocabulary, plus a never-seen
 * query every fifth call so that the embedding cache keeps filling), RSS sampled as it goes.
 * Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { loadModel } from '../../src/model/index.js';
import { benchInput } from '../lib/child-input.js';
import { measureMemory } from '../lib/memory-run.js';
import { COLORS, decodeClip, prng, queryVocabulary, SHAPES } from '../lib/fixtures.js';

// Paths come from the parent: in a bundle, import.meta.url no longer points into the repository.
const { calls, warmup, every, modelDir, clip, stills } = benchInput<{ calls: number; warmup: number; every: number; modelDir: string; clip: string; stills?: string[] }>();

const model = await loadModel(modelDir);
const S = model.info.imageSize;
const frames = decodeClip(clip, S, 640, 360, 30).frames;
const vocab = queryVocabulary();
const rng = prng(1);
const pick = <T>(a: readonly T[]) => a[Math.floor(rng() * a.length)]!;
let novel = 0;

function querySet(i: number): string[] {
  const n = 1 + Math.floor(rng() * 16);
  const set = new Set<string>();
  while (set.size < n) set.add(pick(vocab));
  if (i % 5 === 0) {
    const k = novel++;
    set.add(`${COLORS[k % 8]} ${SHAPES[(k >> 3) % 5]} next to a ${COLORS[(k / 40) % 8 | 0]} ${SHAPES[(k / 320) % 5 | 0]}`);
  }
  return [...set];
}

// With `stills`, every other call decodes one of them (sharp: decode, EXIF, resize) instead of
// taking a frame ffmpeg already scaled: the path of pushed frames, HTTP stills and the CLI.
const encoded = (stills ?? []).map((p) => readFileSync(p));
const detect = (i: number) =>
  encoded.length && i % 2 === 1
    ? model.detect(encoded[(i >> 1) % encoded.length]!, querySet(i))
    : model.detect({ data: frames[i % frames.length]!, width: S, height: S, sourceWidth: 640, sourceHeight: 360 }, querySet(i));
const { msPerCall, samples, afterGc } = await measureMemory({ calls, warmup, every }, detect);
await model.close();
console.log(JSON.stringify({ calls, warmup, msPerCall, novelQueries: novel, samples, afterGc }));
process.exit(0);
