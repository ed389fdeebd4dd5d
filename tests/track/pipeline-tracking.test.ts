import { Subject, take, toArray, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Box, Detection, Frame } from '../../src/domain/types.js';
import type { DetectOptions, GroundingModel, ImageInput, QuerySet } from '../../src/model/index.js';
import { Limiter } from '../../src/pipeline/limiter.js';
import { StreamPipeline, type PipelineOptions } from '../../src/pipeline/stream-pipeline.js';

/** A fake model that plays a script: frame seq -> detections; honours per-query thresholds. */
class ScriptedModel implements GroundingModel {
  info = { name: 'fake', family: 'owlvit', imageSize: 4, threshold: 0.3, nmsIou: null, mode: 'split' as const, executionProviders: ['cpu'] };
  calls: DetectOptions[] = [];
  constructor(private readonly script: (seq: number) => Detection[]) {}
  async prepareQueries(texts: readonly string[]): Promise<QuerySet> {
    return { texts: [...new Set(texts)] };
  }
  async detect(image: ImageInput, q: QuerySet | readonly string[], options: DetectOptions = {}) {
    this.calls.push(options);
    const texts = new Set('texts' in q ? q.texts : q);
    const seq = (image instanceof Uint8Array ? image : image.data)[0]!;
    const detections = this.script(seq).filter((d) => texts.has(d.query) && d.score >= (options.thresholds?.[d.query] ?? options.threshold ?? this.info.threshold));
    return { detections, width: 640, height: 360, timings: { preprocess: 1, infer: 2, postprocess: 0 } };
  }
  workingSize() {
    return { width: 640, height: 360 };
  }
  async close() {}
}

const frame = (seq: number): Frame => ({ streamId: 's', seq, pts: seq / 30, capturedAt: Date.now(), width: 1, height: 1, data: new Uint8Array([seq, 0, 0]) });
const box = (seq: number, x0: number): Box => [x0 + 3 * seq, 100, x0 + 3 * seq + 60, 160];

function setup(script: (seq: number) => Detection[], options?: PipelineOptions) {
  const model = new ScriptedModel(script);
  const frames = new Subject<Frame>();
  const p = new StreamPipeline('s', frames, model, new Limiter(1), options);
  return { model, frames, p };
}

async function feed(frames: Subject<Frame>, seqs: number[]) {
  for (const s of seqs) {
    frames.next(frame(s));
    await new Promise((r) => setImmediate(r));
  }
}

describe('StreamPipeline with tracking', () => {
  it('gives each detection a stable track ID once confirmed, new then updated', async () => {
    const { frames, p } = setup((seq) => [{ query: 'star', score: 0.9, box: box(seq, 0) }]);
    const s = p.subscribe('a', ['star']);
    const got = firstValueFrom(s.results$.pipe(take(4), toArray()));
    await feed(frames, [0, 1, 2, 3]);
    const r = await got;
    expect(r.map((x) => [x.detections[0]!.trackId, x.detections[0]!.track])).toEqual([
      [undefined, undefined],
      [1, 'new'],
      [1, 'updated'],
      [1, 'updated'],
    ]);
  });

  it('asks the model for low scores, keeps tracks alive with them, and never shows them below a subscriber threshold', async () => {
    // score dips to 0.15 (below everyone's threshold, above the floor) for frames 3-40: the track
    // survives the 1.2 s dip and keeps its ID.
    const score = (seq: number) => (seq >= 3 && seq <= 40 ? 0.15 : 0.9);
    const { model, frames, p } = setup((seq) => [{ query: 'star', score: score(seq), box: box(seq, 0) }]);
    const s = p.subscribe('a', ['star'], { threshold: 0.3 });
    const got = firstValueFrom(s.results$.pipe(take(45), toArray()));
    await feed(frames, Array.from({ length: 45 }, (_, i) => i));
    const r = await got;
    expect(model.calls[0]!.thresholds).toEqual({ star: 0.1 });
    expect(r.slice(3, 41).every((x) => x.detections.length === 0)).toBe(true);
    expect(r[41]!.detections[0]).toMatchObject({ trackId: 1, track: 'updated' });
    expect(r.flatMap((x) => x.lost ?? [])).toEqual([]);
  });

  it('smooths boxes for a subscriber that asks, and only for it', async () => {
    let n = 0;
    const jitter = () => (n++ % 2 ? 6 : -6);
    const { frames, p } = setup((seq) => {
      const j = jitter();
      const b = box(0, 0).map((v) => v + j) as Box;
      void seq;
      return [{ query: 'star', score: 0.9, box: b }];
    });
    const raw = p.subscribe('raw', ['star']);
    const smooth = p.subscribe('smooth', ['star'], { smooth: true });
    const gr = firstValueFrom(raw.results$.pipe(take(20), toArray()));
    const gs = firstValueFrom(smooth.results$.pipe(take(20), toArray()));
    await feed(frames, Array.from({ length: 20 }, (_, i) => i));
    const spread = (rs: { detections: Detection[] }[]) => {
      const xs = rs.slice(10).map((x) => x.detections[0]!.box[0]);
      return Math.max(...xs) - Math.min(...xs);
    };
    const [r, s] = [await gr, await gs];
    expect(spread(r)).toBeCloseTo(12, 5);
    expect(spread(s)).toBeLessThan(6);
    expect(s[5]!.detections[0]!.trackId).toBe(r[5]!.detections[0]!.trackId);
    expect(Object.keys(r[5]!.detections[0]!).sort()).toEqual(['box', 'query', 'score', 'track', 'trackId']);
  });

  it('tells subscribers which of their tracks are lost, after lostSeconds of pts', async () => {
    const { frames, p } = setup((seq) => (seq < 5 ? [{ query: 'star', score: 0.9, box: box(seq, 0) }] : []));
    const s = p.subscribe('a', ['star']);
    const other = p.subscribe('b', ['circle']);
    const got = firstValueFrom(s.results$.pipe(take(40), toArray()));
    const gotOther = firstValueFrom(other.results$.pipe(take(40), toArray()));
    await feed(frames, Array.from({ length: 40 }, (_, i) => i));
    const lost = (await got).flatMap((x) => (x.lost ?? []).map((id) => ({ id, seq: x.frame.seq })));
    // last seen at seq 4 (0.133 s); gone once more than 1 s has passed
    expect(lost).toEqual([{ id: 1, seq: 35 }]);
    expect((await gotOther).some((x) => x.lost)).toBe(false);
  });

  it('can be turned off', async () => {
    const { model, frames, p } = setup((seq) => [{ query: 'star', score: 0.9, box: box(seq, 0) }], { tracking: false });
    const s = p.subscribe('a', ['star']);
    const got = firstValueFrom(s.results$.pipe(take(3), toArray()));
    await feed(frames, [0, 1, 2]);
    expect((await got).every((x) => x.detections[0]!.trackId === undefined)).toBe(true);
    expect(model.calls[0]!.thresholds).toEqual({ star: 0.3 });
  });
});
