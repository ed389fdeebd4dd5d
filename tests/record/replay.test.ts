/** The replay parts on synthetic recordings: the recorded model and the replay source's clock. */
import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { GroundstreamClient } from '../../src/client/index.js';
import { startReplayServer } from '../../src/cli/replay.js';
import type { Frame } from '../../src/domain/types.js';
import { Limiter } from '../../src/pipeline/limiter.js';
import { StreamPipeline } from '../../src/pipeline/stream-pipeline.js';
import type { RecordedResult } from '../../src/record/read-session.js';
import { RecordedModel } from '../../src/record/recorded-model.js';
import { ReplayFrameSource, replayFrames, type ReplayFrame } from '../../src/record/replay-source.js';
import type { SessionHeader } from '../../src/record/session-format.js';

const header: SessionHeader = {
  type: 'session',
  version: 1,
  id: 'x',
  part: 1,
  stream: 'cam',
  queries: ['red circle', 'star'],
  threshold: 0.2,
  startedAt: 0,
  url: 'ws://127.0.0.1/v1/ws',
  server: { serverVersion: '0.1.0', protocolVersion: 1, model: { name: 'shapes-owl', type: 'owlv2', threshold: 0.1 } },
};
const result = (seq: number, receivedAt: number, detections: RecordedResult['message']['detections'] = []): RecordedResult => ({
  receivedAt,
  message: {
    type: 'detections',
    subscription: 's1',
    stream: 'cam',
    frame: { seq, pts: seq / 30, capturedAt: 5000 + seq * 33, width: 640, height: 360 },
    queryVersion: 1,
    timings: { decode: 1, infer: 20, total: 30 },
    detections,
  },
});

describe('RecordedModel', () => {
  const results = [
    result(7, 100, [
      { query: 'star', score: 0.9, box: [1, 2, 3, 4], trackId: 3, track: 'new' },
      { query: 'red circle', score: 0.3, box: [5, 6, 7, 8] },
      { query: 'star', score: 0.25, box: [9, 9, 9, 9] },
    ]),
  ];
  const model = new RecordedModel({ header, results });

  it('answers a placeholder frame with its recorded detections, in recorded order, without the per-subscriber track event', async () => {
    const r = await model.detect({ data: model.placeholder(0), width: 1, height: 1 }, await model.prepareQueries(['Star', 'red  circle']));
    expect(r.detections).toEqual([
      { query: 'star', score: 0.9, box: [1, 2, 3, 4], trackId: 3 },
      { query: 'red circle', score: 0.3, box: [5, 6, 7, 8] },
      { query: 'star', score: 0.25, box: [9, 9, 9, 9] },
    ]);
    expect([r.width, r.height]).toEqual([640, 360]);
    expect(r.timings).toEqual({ preprocess: 1, infer: 20, postprocess: 0 }); // the live run's, replayed
  });

  it('keeps only the asked queries above their thresholds', async () => {
    const r = await model.detect({ data: model.placeholder(0), width: 1, height: 1 }, ['star'], { thresholds: { star: 0.5 } });
    expect(r.detections.map((d) => d.score)).toEqual([0.9]);
  });

  it('says what the server model said in hello, and refuses queries the recording lacks', async () => {
    // the default threshold: the server model's, or the recorded one where that is higher
    expect(model.info).toMatchObject({ name: 'shapes-owl', family: 'owlv2', threshold: 0.2, minThreshold: 0.2 });
    await expect(model.prepareQueries(['blue square'])).rejects.toMatchObject({ code: 'QUERY_INVALID' });
  });

  it('refuses an image that is not one of its placeholders', async () => {
    await expect(model.detect({ data: new Uint8Array(3), width: 1, height: 1 }, ['star'])).rejects.toMatchObject({ code: 'MODEL_RUN_FAILED' });
  });
});

const frames = (ats: number[]): ReplayFrame[] => ats.map((at, i) => ({ seq: 10 + i, pts: i / 30, capturedAt: 5000 + i * 33, width: 640, height: 360, at }));

/** Plays a source to its end on fake timers (setTimeout, setImmediate and performance.now() run on
 * a clock the test moves, so due times are checked exactly, whatever the machine's load); returns
 * each frame with the ms it came after start(). */
async function play(source: ReplayFrameSource): Promise<{ frame: Frame; t: number }[]> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
  try {
    const t0 = performance.now();
    const all = firstValueFrom(source.frames$.pipe(toArray()));
    const timed: { frame: Frame; t: number }[] = [];
    source.frames$.subscribe((frame) => timed.push({ frame, t: performance.now() - t0 }));
    source.start();
    await vi.runAllTimersAsync();
    await all;
    return timed;
  } finally {
    vi.useRealTimers();
  }
}

describe('ReplayFrameSource', () => {
  it('replays on the recorder receive clock, keeping seq, pts and capturedAt, with 1x1 placeholders at the source size', async () => {
    const f = replayFrames({ results: [result(10, 1000), result(11, 1060), result(12, 1080), result(13, 1200)] });
    expect(f.map((x) => x.at)).toEqual([0, 60, 80, 200]);
    const out = await play(new ReplayFrameSource({ streamId: 'cam', frames: f, endDelayMs: 0 }));
    expect(out.map((o) => o.frame.seq)).toEqual([10, 11, 12, 13]);
    expect(out[1]!.frame).toMatchObject({ pts: 11 / 30, capturedAt: 5000 + 11 * 33, width: 1, height: 1, sourceWidth: 640, sourceHeight: 360 });
    // each frame is due on the run's own clock (no drift)
    expect(out.map((o) => Math.round(o.t - out[0]!.t))).toEqual([0, 60, 80, 200]);
  });

  it('plays faster with a speed, and with "max" as fast as the event loop turns', async () => {
    const fast = await play(new ReplayFrameSource({ streamId: 'cam', frames: frames([0, 100, 200]), speed: 2, endDelayMs: 0 }));
    expect(fast.map((o) => Math.round(o.t - fast[0]!.t))).toEqual([0, 50, 100]); // 0, 100, 200 at speed 1
    const max = await play(new ReplayFrameSource({ streamId: 'cam', frames: frames([0, 1000, 2000]), speed: 'max', endDelayMs: 0 }));
    expect(max.map((o) => o.frame.seq)).toEqual([10, 11, 12]);
    // no waiting for the recorded gaps (1000 ms each): each frame on the next turn of the loop
    // (which the fake clock counts as a millisecond)
    expect(max.at(-1)!.t).toBeLessThan(10);
  });

  it('waits for its hold, loops when asked, and ends on stop()', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const s = new ReplayFrameSource({ streamId: 'cam', frames: frames([0, 10]), loop: true, hold });
    const seen: number[] = [];
    s.frames$.subscribe((f) => seen.push(f.seq));
    s.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]);
    expect(s.status.state).toBe('connecting');
    expect(s.status).toMatchObject({ sourceWidth: 640, sourceHeight: 360 });
    release();
    while (seen.length < 5) await new Promise((r) => setTimeout(r, 5));
    expect(seen.slice(0, 5)).toEqual([10, 11, 10, 11, 10]);
    expect(s.status.state).toBe('live');
    await s.stop();
    expect(s.status).toMatchObject({ state: 'ended', detail: 'stopped' });
  });

  it('ends by itself after the last frame', async () => {
    const s = new ReplayFrameSource({ streamId: 'cam', frames: frames([0]), endDelayMs: 10 });
    await play(s);
    expect(s.status).toMatchObject({ state: 'ended', detail: 'end of recording' });
  });
});

describe('a replay through the stream pipeline', () => {
  it('serves the recorded track IDs and lost IDs, and derives track events per subscriber as live', async () => {
    const box: [number, number, number, number] = [1, 2, 3, 4];
    const lostLater = result(3, 40, [{ query: 'star', score: 0.8, box, trackId: 9, track: 'updated' }]);
    const results: RecordedResult[] = [
      result(1, 0, [{ query: 'star', score: 0.9, box, trackId: 7, track: 'new' }, { query: 'star', score: 0.5, box }]),
      result(2, 20, [{ query: 'star', score: 0.9, box, trackId: 7, track: 'updated' }, { query: 'star', score: 0.6, box, trackId: 9, track: 'new' }]),
      { ...lostLater, message: { ...lostLater.message, lost: [7] } },
    ];
    const model = new RecordedModel({ header, results });
    const source = new ReplayFrameSource({ streamId: 'cam', frames: replayFrames({ results }), pixels: (i) => model.placeholder(i), endDelayMs: 0 });
    const pipeline = new StreamPipeline('cam', source.frames$, model, new Limiter(1), { tracker: model.tracker() });
    const got = firstValueFrom(pipeline.subscribe('a', ['star'], { threshold: 0.2 }).results$.pipe(toArray()));
    source.start();
    const out = await got;
    expect(out.map((r) => ({ frame: r.frame, detections: r.detections, lost: r.lost, timings: r.timings }))).toEqual(
      results.map(({ message: m }) => ({ frame: m.frame, detections: m.detections, lost: m.lost, timings: { decode: 1, infer: 20, total: expect.any(Number) } })),
    );
  });
});

describe('a replay server', () => {
  it('serves a recording of more queries than the default protocol limit (32) to a client asking for all of them', async () => {
    const queries = Array.from({ length: 40 }, (_, i) => `thing ${i}`);
    const results = [result(1, 0, [{ query: 'thing 39', score: 0.9, box: [1, 2, 3, 4] }]), result(2, 10)];
    const session = { header: { ...header, queries }, files: [], results, missed: 0, truncated: 0, missingParts: [] };
    const replay = await startReplayServer({ session, config: { port: 0 }, speed: 'max' });
    const client = new GroundstreamClient({ url: `${replay.url.replace('http', 'ws')}/v1/ws` });
    try {
      const hello = await client.connect();
      expect(hello.limits.maxQueries).toBe(40);
      const sub = client.subscribe({ stream: 'cam', queries, threshold: 0.2 });
      expect((await sub.accepted).queries).toEqual(queries);
      const got = await firstValueFrom(sub.detections$.pipe(toArray()));
      expect(got.map((m) => m.detections.map((d) => d.query))).toEqual([['thing 39'], []]);
    } finally {
      client.close();
      await replay.close();
    }
  });
});
