import { Subject, config, firstValueFrom, take, toArray, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/domain/types.js';
import { GroundstreamError } from '../../src/errors.js';
import type { DetectOptions, GroundingModel, QuerySet } from '../../src/model/index.js';
import { Limiter } from '../../src/pipeline/limiter.js';
import { StreamPipeline, type InferenceResult, type SubscriberResult } from '../../src/pipeline/stream-pipeline.js';

/** A fake model: every query gets one box with score 0.5 (or per-query scores); calls are counted
 * and each detect waits until released, so tests control when the model is busy. */
class FakeModel implements GroundingModel {
  info = { name: 'fake', family: 'owlvit', imageSize: 4, threshold: 0.3, nmsIou: null, mode: 'split' as const, executionProviders: ['cpu'] };
  calls: { seq: number; queries: readonly string[]; options?: DetectOptions }[] = [];
  gates: (() => void)[] = [];
  manual = false;
  failOn = new Set<number>();
  scores: Record<string, number> = {};
  async prepareQueries(texts: readonly string[]): Promise<QuerySet> {
    return { texts: [...new Set(texts)] };
  }
  async detect(image: { data: Uint8Array }, q: QuerySet | readonly string[], options?: DetectOptions) {
    const texts = 'texts' in q ? q.texts : q;
    const seq = image.data[0]!;
    this.calls.push({ seq, queries: texts, options });
    if (this.manual) await new Promise<void>((r) => this.gates.push(r));
    if (this.failOn.has(seq)) throw new GroundstreamError('MODEL_RUN_FAILED', `frame ${seq}`);
    return {
      detections: texts.map((t) => ({ query: t, score: this.scores[t] ?? 0.5, box: [0, 0, 1, 1] as [number, number, number, number] })),
      width: 4,
      height: 4,
      timings: { preprocess: 1, infer: 2, postprocess: 0 },
    };
  }
  workingSize() {
    return { width: 4, height: 4 };
  }
  async close() {}
}

const frame = (seq: number): Frame => ({ streamId: 's', seq, pts: seq / 30, capturedAt: Date.now(), width: 1, height: 1, data: new Uint8Array([seq, 0, 0]) });
const tick = () => new Promise((r) => setImmediate(r));

/** Frame `seq` (its pixels carry seq mod 250, which the fake model reads), then time for the
 * pipeline to take it through. */
async function pushFrame(frames: Subject<Frame>, seq: number): Promise<void> {
  frames.next({ ...frame(seq % 250), seq, pts: seq / 30 });
  for (let i = 0; i < 3; i++) await tick();
}

/** A clock the test moves by hand (`clock.t`, ms), for rate gates. */
function manualClock(): SchedulerLike & { t: number } {
  const c = { t: 0, now: () => c.t };
  return c as unknown as SchedulerLike & { t: number };
}

function setup() {
  const model = new FakeModel();
  const frames = new Subject<Frame>();
  const p = new StreamPipeline('s', frames, model, new Limiter(1));
  return { model, frames, p };
}

describe('StreamPipeline', () => {
  it('runs one inference per frame for the union of all subscribers, each getting its own queries', async () => {
    const { model, frames, p } = setup();
    const a = p.subscribe('a', ['Red Circle', 'star']);
    const b = p.subscribe('b', ['star', 'blue square']);
    const ra = firstValueFrom(a.results$);
    const rb = firstValueFrom(b.results$);
    frames.next(frame(1));
    const [x, y] = await Promise.all([ra, rb]);
    expect(model.calls).toHaveLength(1);
    expect([...model.calls[0]!.queries].sort()).toEqual(['blue square', 'red circle', 'star']);
    expect(x.detections.map((d) => d.query).sort()).toEqual(['red circle', 'star']);
    expect(y.detections.map((d) => d.query).sort()).toEqual(['blue square', 'star']);
    expect(x.frame.seq).toBe(1);
  });

  it("counts a frame's own decode (a pushed image) in timings.decode, with the model's preparation", async () => {
    const { frames, p } = setup();
    const a = p.subscribe('a', ['star']);
    const first = firstValueFrom(a.results$);
    frames.next({ ...frame(1), decodeMs: 12.5 });
    expect((await first).timings.decode).toBe(12.5 + 1); // the fake model prepares in 1 ms
  });

  it('does no inference while nobody watches', async () => {
    const { model, frames, p } = setup();
    frames.next(frame(1));
    frames.next(frame(2));
    await tick();
    expect(model.calls).toHaveLength(0);
    expect(p.stats.framesIdle).toBe(2);
    const s = p.subscribe('a', ['star']);
    p.unsubscribe('a');
    frames.next(frame(3));
    await tick();
    expect(model.calls).toHaveLength(0);
    void s;
  });

  it('drops and counts frames that arrive while the model is busy, keeping the newest', async () => {
    const { model, frames, p } = setup();
    model.manual = true;
    const got: number[] = [];
    p.subscribe('a', ['star']).results$.subscribe((r) => got.push(r.frame.seq));
    frames.next(frame(1));
    await tick();
    for (const s of [2, 3, 4, 5]) frames.next(frame(s));
    model.gates.shift()!();
    await tick();
    await tick();
    model.gates.shift()!();
    await tick();
    expect(got).toEqual([1, 5]);
    expect(p.stats.framesDropped).toBe(3);
    expect(model.calls.map((c) => c.seq)).toEqual([1, 5]);
  });

  it('with streams sharing the model, runs the newest frame once its turn comes, not the one that queued', async () => {
    const model = new FakeModel();
    model.manual = true;
    const limiter = new Limiter(1);
    const fa = new Subject<Frame>();
    const fb = new Subject<Frame>();
    const a = new StreamPipeline('a', fa, model, limiter);
    const b = new StreamPipeline('b', fb, model, limiter);
    const gotB: number[] = [];
    a.subscribe('x', ['star']);
    b.subscribe('y', ['star']).results$.subscribe((r) => gotB.push(r.frame.seq));
    fa.next(frame(1)); // stream a has the model
    await tick();
    fb.next(frame(11)); // stream b's frame waits for the model ...
    await tick();
    for (const seq of [12, 13, 14]) fb.next(frame(seq)); // ... while newer ones come
    await tick();
    model.gates.shift()!(); // a is done: b's turn
    for (let i = 0; i < 5; i++) await tick();
    model.gates.shift()?.();
    for (let i = 0; i < 5; i++) await tick();
    expect(model.calls.map((c) => c.seq)).toEqual([1, 14]); // 14, not 11; and 14 only once
    expect(gotB).toEqual([14]);
    expect(b.stats.framesDropped).toBe(3); // 11 (passed over), 12 and 13 (replaced while waiting)
    expect(b.stats.framesProcessed).toBe(1);
    a.close();
    b.close();
  });

  it('refuses queries that would take the union past what the model takes, changing nothing', async () => {
    const { model, frames, p } = setup();
    (model.info as { maxQueries?: number }).maxQueries = 4;
    const q = new StreamPipeline('q', frames, model, new Limiter(1));
    const a = q.subscribe('a', ['red circle', 'star', 'cross']);
    expect(() => q.subscribe('b', ['blue square', 'green star'])).toThrow(expect.objectContaining({ code: 'LIMIT_QUERIES' }));
    expect(q.subscribers).toBe(1);
    q.subscribe('c', ['star', 'blue square']); // shared queries count once: 4 in all
    expect(() => q.update('a', { queries: ['red circle', 'star', 'cross', 'purple cross'] })).toThrow(expect.objectContaining({ code: 'LIMIT_QUERIES' }));
    expect(q.queriesOf('a')).toEqual(['red circle', 'star', 'cross']);
    const r = firstValueFrom(a.results$);
    frames.next(frame(1));
    expect((await r).detections.map((d) => d.query).sort()).toEqual(['cross', 'red circle', 'star']);
    expect([...model.calls[0]!.queries].sort()).toEqual(['blue square', 'cross', 'red circle', 'star']);
    q.close();
    void p;
  });

  it('answers a result computed before an update with the queries and version it was computed for', async () => {
    const { model, frames, p } = setup();
    model.manual = true;
    const got: { v: number; q: string[] }[] = [];
    p.subscribe('a', ['cat', 'person']).results$.subscribe((r) => got.push({ v: r.queryVersion, q: r.detections.map((d) => d.query).sort() }));
    frames.next(frame(1));
    await tick();
    expect(p.update('a', { queries: ['dog'] })).toBe(2); // while frame 1 is in the model
    model.gates.shift()!();
    await tick();
    await tick();
    frames.next(frame(2));
    await tick();
    model.gates.shift()!();
    await tick();
    await tick();
    expect(got).toEqual([
      { v: 1, q: ['cat', 'person'] },
      { v: 2, q: ['dog'] },
    ]);
  });

  it('with maxRate, a track is new in the first result the subscriber gets, and lost IDs of skipped results come with the next', async () => {
    const { model, frames, p } = setup();
    model.scores = { star: 0.9 };
    const clock = manualClock();
    const got: SubscriberResult[] = [];
    // at most 5 a second: one in 6 frames at 30 fps
    p.subscribe('a', ['star'], { maxRate: 5, scheduler: clock }).results$.subscribe((r) => got.push(r));
    const union: InferenceResult[] = [];
    p.results$.subscribe((r) => union.push(r));
    let seq = 0;
    const step = async (advance = true) => {
      if (advance) clock.t += 1000 / 30;
      await pushFrame(frames, ++seq);
    };
    for (let i = 0; i < 20; i++) await step();
    const id = union.at(-1)!.detections[0]!.trackId!;
    expect(id).toBeDefined();
    // its ID came in a result the rate skipped; the first one delivered with it says 'new'
    const firstWithId = got.find((r) => r.detections.some((d) => d.trackId === id))!;
    expect(union.findIndex((r) => r.detections.some((d) => d.trackId === id))).toBeLessThan(union.indexOf(union.find((r) => r.frame.seq === firstWithId.frame.seq)!));
    expect(firstWithId.detections.find((d) => d.trackId === id)!.track).toBe('new');
    // the object goes; with the clock held, every result until its loss is skipped
    model.scores = { star: 0 };
    const before = got.length;
    while (!union.some((r) => r.lost?.includes(id))) await step(false);
    expect(got.length).toBe(before);
    clock.t += 1000;
    await step();
    expect(got.at(-1)!.lost).toEqual([id]);
  });

  it('tells a subscriber that drops a query its IDs for it are lost, even while another subscriber keeps the track', async () => {
    const { frames, p } = setup();
    const got: Record<string, SubscriberResult[]> = { a: [], b: [] };
    p.subscribe('a', ['cat']).results$.subscribe((r) => got.a!.push(r));
    p.subscribe('b', ['cat']).results$.subscribe((r) => got.b!.push(r));
    let seq = 0;
    const step = () => pushFrame(frames, ++seq);
    for (let i = 0; i < 5; i++) await step();
    const id = got.a!.at(-1)!.detections[0]!.trackId!;
    expect(id).toBeDefined();
    p.update('a', { queries: ['dog'] });
    await step();
    expect(got.a!.at(-1)!.lost).toEqual([id]);
    expect(got.a!.at(-1)!.detections.map((d) => d.query)).toEqual(['dog']);
    expect(got.b!.at(-1)!.lost).toBeUndefined(); // b still has the cat, under the same ID
    expect(got.b!.at(-1)!.detections[0]!.trackId).toBe(id);
    await step();
    expect(got.a!.at(-1)!.lost).toBeUndefined(); // said once
  });

  it('applies each subscriber its own threshold, and asks the model for the lowest', async () => {
    const { model, frames, p } = setup();
    model.scores = { star: 0.5 };
    const strict = p.subscribe('strict', ['star'], { threshold: 0.6 });
    const loose = p.subscribe('loose', ['star'], { threshold: 0.2 });
    const rs = firstValueFrom(strict.results$);
    const rl = firstValueFrom(loose.results$);
    frames.next(frame(1));
    expect((await rs).detections).toEqual([]);
    expect((await rl).detections).toHaveLength(1);
    // the lowest is 0.2, lowered to the tracker's low-pass floor (TRACKER_DEFAULTS.lowThreshold)
    expect(model.calls[0]!.options!.thresholds).toEqual({ star: 0.1 });
  });

  it('takes query changes from the next inference and reports the version answered', async () => {
    const { frames, p } = setup();
    const s = p.subscribe('a', ['star']);
    expect(s.version).toBe(1);
    const two = firstValueFrom(s.results$.pipe(take(2), toArray()));
    frames.next(frame(1));
    await tick();
    expect(p.update('a', { queries: ['circle'] })).toBe(2);
    frames.next(frame(2));
    const [r1, r2] = await two;
    expect([r1!.queryVersion, r1!.detections.map((d) => d.query)]).toEqual([1, ['star']]);
    expect([r2!.queryVersion, r2!.detections.map((d) => d.query)]).toEqual([2, ['circle']]);
  });

  it('turns a failed inference into an error result for that frame and goes on', async () => {
    const { model, frames, p } = setup();
    model.failOn.add(2);
    const got = firstValueFrom(p.subscribe('a', ['star']).results$.pipe(take(3), toArray()));
    for (const s of [1, 2, 3]) {
      frames.next(frame(s));
      await tick();
    }
    const r = await got;
    expect(r.map((x) => x.error?.code ?? 'ok')).toEqual(['ok', 'MODEL_RUN_FAILED', 'ok']);
    expect(p.stats.inferenceErrors).toBe(1);
  });

  it('hands subscribers with the same view one shared detections array, and others their own', async () => {
    const { frames, p } = setup();
    // a and b: the same queries in another order and case; c: a higher threshold; d: smoothing on
    const subs = [
      p.subscribe('a', ['red circle', 'star']),
      p.subscribe('b', ['Star', 'red circle']),
      p.subscribe('c', ['red circle', 'star'], { threshold: 0.6 }),
      p.subscribe('d', ['red circle', 'star'], { smooth: true }),
    ];
    const N = 6; // enough frames for the tracker to confirm the boxes
    const all = Promise.all(subs.map((s) => firstValueFrom(s.results$.pipe(take(N), toArray()))));
    for (let i = 1; i <= N; i++) {
      frames.next(frame(i));
      await tick();
    }
    const [a, b, c, d] = await all;
    for (let i = 0; i < N; i++) {
      expect(b![i]!.detections).toBe(a![i]!.detections); // one array: filtered, marked and encoded once
      expect(Object.isFrozen(a![i]!.detections) && Object.isFrozen(a![i]!.frame)).toBe(true);
      expect(b![i]!.frame).toBe(a![i]!.frame);
      expect(c![i]!.detections).toEqual([]); // 0.5 is under c's 0.6
      expect(d![i]!.detections).not.toBe(a![i]!.detections);
    }
    const last = a!.at(-1)!.detections;
    expect(last).toHaveLength(2);
    expect(last.every((x) => x.trackId !== undefined && x.track === 'updated')).toBe(true);
    // a late joiner has not seen the tracks yet: its marks say "new" while a's say "updated"
    const e = p.subscribe('e', ['red circle', 'star']);
    const next = Promise.all([firstValueFrom(subs[0]!.results$), firstValueFrom(e.results$)]);
    frames.next(frame(N + 1));
    const [a2, e2] = await next;
    expect(a2!.detections.map((x) => x.track)).toEqual(['updated', 'updated']);
    expect(e2!.detections.map((x) => x.track)).toEqual(['new', 'new']);
    expect(e2!.detections).not.toBe(a2!.detections);
  });

  it('hands a late joiner the same result object as the others once it has seen the same tracks; one that changes its queries goes its own way, with its history', async () => {
    const { model, frames, p } = setup();
    const a = p.subscribe('a', ['red circle', 'star']);
    const b = p.subscribe('b', ['red circle', 'star']);
    const got: Record<string, SubscriberResult[]> = { a: [], b: [], e: [] };
    a.results$.subscribe((r) => got.a!.push(r));
    b.results$.subscribe((r) => got.b!.push(r));
    let seq = 0;
    const step = () => pushFrame(frames, ++seq);
    for (let i = 0; i < 6; i++) await step();
    expect(got.b!.at(-1)).toBe(got.a!.at(-1)); // one object for both, built once
    const e = p.subscribe('e', ['star', 'Red Circle']);
    e.results$.subscribe((r) => got.e!.push(r));
    await step();
    expect(got.e![0]!.detections.map((d) => d.track)).toEqual(['new', 'new']);
    expect(got.a!.at(-1)!.detections.map((d) => d.track)).toEqual(['updated', 'updated']);
    await step(); // e has now seen what a and b have: from here on it gets what they get
    expect(got.e!.at(-1)).toBe(got.a!.at(-1));
    expect(got.e!.at(-1)!.detections.map((d) => d.track)).toEqual(['updated', 'updated']);
    const circle = got.a!.at(-1)!.detections.find((d) => d.query === 'red circle')!.trackId!;
    // e drops a query: the others are untouched, e is told its track for it is lost, and its
    // other track stays "updated" (its history went with it)
    expect(p.update('e', { queries: ['star'] })).toBe(2);
    await step();
    const [ea, aa] = [got.e!.at(-1)!, got.a!.at(-1)!];
    expect(ea).not.toBe(aa);
    expect(ea.queryVersion).toBe(2);
    expect(ea.detections.map((d) => [d.query, d.track])).toEqual([['star', 'updated']]);
    expect(ea.lost).toEqual([circle]);
    expect(aa.queryVersion).toBe(1);
    expect(aa.detections.map((d) => d.query).sort()).toEqual(['red circle', 'star']);
    expect(aa.lost).toBeUndefined();
    // one leaving does not end the others' results
    p.unsubscribe('a');
    const n = got.b!.length;
    await step();
    expect(got.b!.length).toBe(n + 1);
    expect(got.a!.length).toBe(seq - 1);
    expect(model.calls).toHaveLength(seq);
  });

  it('gives a rate set by update to that subscriber alone, even when it shared its results', async () => {
    const { frames, p } = setup();
    const clock = manualClock();
    const count = { a: 0, b: 0 };
    p.subscribe('a', ['star']).results$.subscribe(() => count.a++);
    p.subscribe('b', ['star']).results$.subscribe(() => count.b++);
    let seq = 0;
    const step = async () => {
      clock.t += 1000 / 30;
      await pushFrame(frames, ++seq);
    };
    for (let i = 0; i < 3; i++) await step();
    p.update('b', { maxRate: 5 }, clock);
    for (let i = 0; i < 30; i++) await step(); // one second at 30 fps
    expect(count.a).toBe(33);
    expect(count.b - 3).toBeGreaterThanOrEqual(5);
    expect(count.b - 3).toBeLessThanOrEqual(6);
    const limited = count.b;
    p.update('b', { maxRate: null });
    for (let i = 0; i < 6; i++) await step();
    expect(count.b).toBe(limited + 6);
    expect(count.a).toBe(39);
  });

  it('hands a subscriber updated from inside another one\'s callback the result being handed out, under its old version', async () => {
    const { frames, p } = setup();
    const a = p.subscribe('a', ['star']);
    const b = p.subscribe('b', ['star']);
    let updated = false;
    a.results$.subscribe(() => {
      if (updated) return;
      updated = true;
      p.update('b', { threshold: 0.4 });
    });
    const versions: number[] = [];
    b.results$.subscribe((r) => versions.push(r.queryVersion));
    for (let i = 1; i <= 3; i++) {
      frames.next(frame(i));
      for (let k = 0; k < 3; k++) await tick();
    }
    expect(versions).toEqual([1, 2, 2]);
  });

  it('survives close() from inside a subscriber\'s callback, and ends everyone\'s results, also those asked for later', async () => {
    const errors: unknown[] = [];
    const before = config.onUnhandledError;
    config.onUnhandledError = (e) => errors.push(e);
    try {
      const { frames, p } = setup();
      p.subscribe('a', ['star']).results$.subscribe(() => p.close());
      const b = p.subscribe('b', ['star'], { threshold: 0.45 });
      let ended = false;
      b.results$.subscribe({ complete: () => (ended = true) });
      frames.next(frame(1));
      for (let k = 0; k < 3; k++) await tick();
      await new Promise((r) => setTimeout(r, 5));
      expect(errors).toEqual([]);
      expect(ended).toBe(true);
      expect(await firstValueFrom(b.results$.pipe(toArray()))).toEqual([]); // subscribed after the end
      expect(await firstValueFrom(p.subscribe('c', ['star']).results$.pipe(toArray()))).toEqual([]);
    } finally {
      config.onUnhandledError = before;
    }
  });

  it('completes the results of a subscriber that comes after its source completed', async () => {
    const { frames, p } = setup();
    frames.complete();
    await tick();
    expect(await firstValueFrom(p.subscribe('a', ['star']).results$.pipe(toArray()))).toEqual([]);
  });

  it('keeps a subscriber\'s rate gate through updates that leave its rate alone, and hands over the lost IDs it held back when the rate is lifted', async () => {
    const { model, frames, p } = setup();
    model.scores = { star: 0.9 };
    const clock = manualClock();
    const union: InferenceResult[] = [];
    p.results$.subscribe((r) => union.push(r));
    let seq = 0;
    const step = () => pushFrame(frames, ++seq);
    p.subscribe('z', ['star']);
    for (let i = 0; i < 10; i++) await step(); // the tracker confirms the object
    const got: SubscriberResult[] = [];
    p.subscribe('a', ['star'], { maxRate: 1, scheduler: clock }).results$.subscribe((r) => got.push(r));
    for (let i = 0; i < 10; i++) await step(); // the clock stands still: one result in all
    for (let i = 0; i < 3; i++) {
      p.update('a', { threshold: 0.3 + i / 100 });
      await step();
    }
    expect(got).toHaveLength(1);
    const id = got[0]!.detections[0]!.trackId!;
    expect(id).toBeDefined();
    model.scores = { star: 0 }; // the object goes; its loss falls in a result the rate skips
    while (!union.some((r) => r.lost?.includes(id))) await step();
    expect(got).toHaveLength(1);
    p.update('a', { maxRate: null });
    await step();
    expect(got).toHaveLength(2);
    expect(got[1]!.lost).toEqual([id]);
  });
});
