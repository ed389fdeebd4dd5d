/**
 * Track identity on the fixture clips: ID switches and fragmentation against the truth, at full
 * frame rate and with half the frames dropped. Method and results: docs/tracking.md.
 *
 *   npx vite-node bench/tracking.ts [--clips a.mp4,b.mp4] [--json out.json] [--model DIR] [--dump dets.json]
 *
 * 1. The bundled model runs once on every frame of each clip (224 x 224, stretched) for the 40
 *    colour-shape queries, down to the tracker's low-pass floor; detections are kept.
 * 2. Those detections are tracked offline (StreamTracker, default settings): every frame ("full"),
 *    and every other frame, both phases ("half": even frames, then odd frames, summed).
 * 3. The same detections go through the real StreamPipeline behind a model stub that takes 1-3
 *    frame periods per inference (2 on average), so the pipeline itself drops about half the
 *    frames while busy, as a loaded server does ("pipeline"); its subscriber results are scored.
 * Scoring (src/eval/id-metrics.ts): each truth object is one identity (its index in the clip's
 * truth, which the renderer keeps fixed), matched within its colour-shape query to reported
 * tracked detections (score >= the model's threshold, with a trackId) at IoU >= 0.5.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Subject } from 'rxjs';
import { iou } from '../src/domain/geometry.js';
import type { Detection, Frame } from '../src/domain/types.js';
import { clipFrames } from '../src/eval/clip-frames.js';
import { IdMetricsCounter, type IdMetrics, type TrackedBox, type TruthObject } from '../src/eval/id-metrics.js';
import { COLORS, SHAPES, type Truth } from '../src/eval/shapes-world.js';
import { BUNDLED_MODEL_DIR, loadModel, type DetectOptions, type GroundingModel, type ImageInput, type QuerySet } from '../src/model/index.js';
import { Limiter } from '../src/pipeline/limiter.js';
import { StreamPipeline, type SubscriberResult } from '../src/pipeline/stream-pipeline.js';
import { StreamTracker } from '../src/track/stream-tracker.js';

const ROOT = resolve(import.meta.dirname, '..');
const QUERIES = COLORS.flatMap((c) => SHAPES.map((s) => `${c} ${s}`));
let detectionsSeen = 0;

interface CachedFrame {
  seq: number;
  pts: number;
  detections: Detection[];
}

interface Clip {
  name: string;
  truth: Truth;
  frames: CachedFrame[];
  modelMs: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Truth objects of frame `seq`; `run` keeps identities of separate tracker runs apart. */
function truthAt(clip: Clip, seq: number, run = ''): TruthObject[] {
  return (clip.truth.frames[seq]?.objects ?? []).map((o, i) => ({ id: `${clip.name}#${i}${run}`, query: `${o.color} ${o.shape}`, box: o.box }));
}

const reported = (dets: readonly Detection[], threshold: number): TrackedBox[] =>
  dets.flatMap((d) => (d.trackId !== undefined && d.score >= threshold ? [{ query: d.query, trackId: d.trackId, box: d.box }] : []));

async function detectClip(model: GroundingModel, path: string, floor: Record<string, number>): Promise<Clip> {
  const truth = JSON.parse(readFileSync(path.replace(/\.mp4$/, '.truth.json'), 'utf8')) as Truth;
  const set = await model.prepareQueries(QUERIES);
  const frames: CachedFrame[] = [];
  let modelMs = 0;
  for await (const f of clipFrames(path, { width: 224, height: 224, fit: 'stretch' })) {
    const t0 = performance.now();
    const r = await model.detect({ data: f.data, width: f.width, height: f.height, sourceWidth: f.sourceWidth, sourceHeight: f.sourceHeight }, set, { thresholds: floor });
    modelMs += performance.now() - t0;
    frames.push({ seq: f.seq, pts: f.pts, detections: r.detections });
    detectionsSeen += r.detections.length;
  }
  return { name: basename(path, '.mp4'), truth, frames, modelMs };
}

/** Offline: a fresh tracker over the frames `keep` selects, scored into `counters`. */
function trackOffline(clip: Clip, threshold: number, keep: (i: number) => boolean, counters: IdMetricsCounter[], run = ''): void {
  const tracker = new StreamTracker();
  const th = Object.fromEntries(QUERIES.map((q) => [q, threshold]));
  clip.frames.forEach((f, i) => {
    if (!keep(i)) return;
    const u = tracker.update(f.detections, f.pts, th);
    for (const c of counters) c.frame(truthAt(clip, f.seq, run), reported(u.detections, threshold));
  });
}

/**
 * Tracker cost on the clips' real detections at full rate: wall-clock and CPU microseconds a frame,
 * the median of `runs` passes after one to warm up the JIT.
 */
function trackingCost(clips: readonly Clip[], threshold: number, runs = 7): { wallUs: number; cpuUs: number; frames: number } {
  const th = Object.fromEntries(QUERIES.map((q) => [q, threshold]));
  const frames = clips.reduce((n, c) => n + c.frames.length, 0);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (const clip of clips) {
      const tracker = new StreamTracker();
      for (const f of clip.frames) tracker.update(f.detections, f.pts, th);
    }
    const c = process.cpuUsage(c0);
    if (r === 0) continue;
    wall.push(((performance.now() - t0) * 1000) / frames);
    cpu.push((c.user + c.system) / frames);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  return { wallUs: median(wall), cpuUs: median(cpu), frames };
}

/** Detector alone: truth object-frames with a detection of their query at IoU >= 0.5 (an upper bound on coverage). */
function detectorRecall(clip: Clip, threshold: number): { hit: number; total: number } {
  let hit = 0;
  let total = 0;
  for (const f of clip.frames) {
    for (const t of truthAt(clip, f.seq)) {
      total++;
      if (f.detections.some((d) => d.query === t.query && d.score >= threshold && iou(d.box, t.box) >= 0.5)) hit++;
    }
  }
  return { hit, total };
}

/** Serves cached detections, taking 1-3 frame periods (seeded) per inference. */
class ReplayModel implements GroundingModel {
  readonly info: GroundingModel['info'];
  private waiters: { at: number; resolve: () => void }[] = [];
  private seed = 12345;
  ticks = 0;

  constructor(
    base: GroundingModel['info'],
    private readonly clip: Clip,
  ) {
    this.info = base;
  }

  tick(): void {
    this.ticks++;
    const due = this.waiters.filter((w) => w.at <= this.ticks);
    this.waiters = this.waiters.filter((w) => w.at > this.ticks);
    for (const w of due) w.resolve();
  }

  async prepareQueries(texts: readonly string[]): Promise<QuerySet> {
    return { texts: [...new Set(texts)] };
  }

  async detect(image: ImageInput, _q: QuerySet | readonly string[], options: DetectOptions = {}) {
    const data = image instanceof Uint8Array ? image : image.data;
    const i = new DataView(data.buffer, data.byteOffset).getUint32(0);
    this.seed = (this.seed * 1103515245 + 12345) % 2 ** 31;
    const periods = 1 + (this.seed % 3);
    await new Promise<void>((r) => this.waiters.push({ at: this.ticks + periods, resolve: r }));
    const th = options.thresholds ?? {};
    const detections = this.clip.frames[i]!.detections.filter((d) => d.score >= (th[d.query] ?? options.threshold ?? this.info.threshold));
    return { detections, width: this.clip.truth.width, height: this.clip.truth.height, timings: { preprocess: 0, infer: 0, postprocess: 0 } };
  }

  workingSize(width: number, height: number) {
    return { width, height };
  }

  async close() {}
}

/** Through StreamPipeline with a model slower than the source: the pipeline drops frames itself. */
async function trackThroughPipeline(clip: Clip, info: GroundingModel['info'], counters: IdMetricsCounter[]): Promise<{ processed: number; dropped: number }> {
  const model = new ReplayModel(info, clip);
  const frames$ = new Subject<Frame>();
  const p = new StreamPipeline('bench', frames$, model, new Limiter(1));
  const results: SubscriberResult[] = [];
  const { results$ } = p.subscribe('bench', QUERIES);
  const sub = results$.subscribe((r) => results.push(r));
  const settle = async () => {
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
  };
  for (const [i, f] of clip.frames.entries()) {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, i);
    frames$.next({ streamId: 'bench', seq: f.seq, pts: f.pts, capturedAt: Date.now(), width: clip.truth.width, height: clip.truth.height, data });
    await settle();
    model.tick();
    await settle();
  }
  for (let k = 0; k < 4; k++) {
    model.tick();
    await settle();
  }
  sub.unsubscribe();
  p.close();
  for (const r of results) for (const c of counters) c.frame(truthAt(clip, r.frame.seq), reported(r.detections, info.threshold));
  return { processed: p.stats.framesProcessed, dropped: p.stats.framesDropped };
}

const fmt = (m: IdMetrics) =>
  `${m.objectFrames} | ${(100 * m.coverage).toFixed(1)}% | ${m.switches} | ${m.switchesPer100.toFixed(2)} | ${m.fragmentations} | ${m.fragmentationsPer100.toFixed(2)} | ${m.extraIds}`;

async function main(): Promise<void> {
  const dir = join(ROOT, 'fixtures/clips');
  const clips = arg('clips')?.split(',') ?? readdirSync(dir).filter((f) => f.endsWith('.mp4')).sort().map((f) => join(dir, f));
  const model = await loadModel(arg('model') ?? BUNDLED_MODEL_DIR);
  const threshold = model.info.threshold;
  const floor = new StreamTracker().detectThresholds(Object.fromEntries(QUERIES.map((q) => [q, threshold])));
  const totals = { full: new IdMetricsCounter(), half: new IdMetricsCounter(), pipeline: new IdMetricsCounter() };
  const rows: string[] = [];
  const dumped: Clip[] = [];
  const json: Record<string, unknown>[] = [];
  let recallHit = 0;
  let recallTotal = 0;
  let processed = 0;
  let dropped = 0;
  for (const path of clips) {
    const clip = await detectClip(model, path, floor);
    dumped.push(clip);
    const per = { full: new IdMetricsCounter(), half: new IdMetricsCounter(), pipeline: new IdMetricsCounter() };
    trackOffline(clip, threshold, () => true, [per.full, totals.full]);
    for (const phase of [0, 1]) trackOffline(clip, threshold, (i) => i % 2 === phase, [per.half, totals.half], `@${phase}`);
    const pipeStats = await trackThroughPipeline(clip, model.info, [per.pipeline, totals.pipeline]);
    processed += pipeStats.processed;
    dropped += pipeStats.dropped;
    const rec = detectorRecall(clip, threshold);
    recallHit += rec.hit;
    recallTotal += rec.total;
    for (const mode of ['full', 'half', 'pipeline'] as const) rows.push(`| ${clip.name} | ${mode} | ${fmt(per[mode].result())} |`);
    json.push({ clip: clip.name, frames: clip.frames.length, modelMsPerFrame: clip.modelMs / clip.frames.length, detectorRecall: rec.hit / rec.total, pipeline: pipeStats, ...Object.fromEntries(Object.entries(per).map(([k, v]) => [k, v.result()])) });
    console.error(`${clip.name}: ${clip.frames.length} frames, model ${(clip.modelMs / clip.frames.length).toFixed(1)} ms/frame, pipeline dropped ${pipeStats.dropped}/${pipeStats.dropped + pipeStats.processed}`);
  }
  await model.close();
  for (const mode of ['full', 'half', 'pipeline'] as const) rows.push(`| **all** | ${mode} | ${fmt(totals[mode].result())} |`);
  const cost = trackingCost(dumped, threshold);
  const highSeen = dumped.reduce((n, c) => n + c.frames.reduce((k, f) => k + f.detections.filter((d) => d.score >= threshold).length, 0), 0);
  const out = [
    `model: ${model.info.name}, threshold ${threshold}, low-pass floor ${Object.values(floor)[0]}`,
    `detector recall at threshold (IoU >= 0.5, upper bound on coverage): ${((100 * recallHit) / recallTotal).toFixed(1)}%`,
    `pipeline mode: ${dropped} of ${dropped + processed} frames dropped by the pipeline (${((100 * dropped) / (dropped + processed)).toFixed(1)}%)`,
    `tracking cost on the clips (40 queries, full rate, median of 7 after warm-up): ${cost.wallUs.toFixed(1)} us/frame wall, ${cost.cpuUs.toFixed(1)} us/frame CPU; ${(detectionsSeen / cost.frames).toFixed(1)} detections/frame above the floor, ${(highSeen / cost.frames).toFixed(1)} at or above the threshold`,
    '',
    '| clip | mode | object-frames | coverage | ID switches | per 100 | fragmentations | per 100 | extra IDs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  console.log(out);
  const dump = arg('dump');
  if (dump) writeFileSync(dump, JSON.stringify(dumped));
  const jsonPath = arg('json');
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ model: model.info.name, threshold, cost, clips: json, totals: Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, v.result()])) }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
