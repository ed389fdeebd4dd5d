import v8 from 'node:v8';
import { loadModel } from '../src/model/index.js';
import { COLORS, decodeClip, prng, queryVocabulary, SHAPES } from '../bench/lib/fixtures.js';
const MODE = process.env.MODE ?? 'novel';
const CALLS = Number(process.env.CALLS ?? 10000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const model = await loadModel('models/shapes-owl');
const S = model.info.imageSize;
const frames = decodeClip('fixtures/clips/clip01-640x360.mp4', S, 640, 360, 30).frames;
const vocab = queryVocabulary();
const rng = prng(1);
const pick = <T>(a: readonly T[]) => a[Math.floor(rng() * a.length)]!;
let novel = 0;
function querySet(i: number): string[] {
  if (MODE === 'fixed') return vocab.slice(0, 8);
  const n = 1 + Math.floor(rng() * 16);
  const set = new Set<string>();
  while (set.size < n) set.add(pick(vocab));
  if (MODE === 'novel' && i % 5 === 0) {
    const k = novel++;
    set.add(`${COLORS[k % 8]} ${SHAPES[(k >> 3) % 5]} next to a ${COLORS[(k / 40) % 8 | 0]} ${SHAPES[(k / 320) % 5 | 0]}`);
  }
  return [...set];
}
const detect = (i: number) => model.detect({ data: frames[i % frames.length]!, width: S, height: S, sourceWidth: 640, sourceHeight: 360 }, querySet(i));
for (let i = 0; i < 300; i++) await detect(i);
gc();
const out = () => { const m = process.memoryUsage(); const hs = v8.getHeapStatistics(); return ((m.rss - hs.total_heap_size) / 2 ** 20).toFixed(1); };
const line = [`0:${out()}`];
for (let i = 1; i <= CALLS; i++) { await detect(300 + i); if (i % 2000 === 0) { line.push(`${i}:${out()}`); } }
gc(); line.push(`gc:${out()}`);
console.log(MODE, process.env.ORT_ARENA ?? '', 'outside-heap MiB', line.join(' '));
await model.close(); process.exit(0);
