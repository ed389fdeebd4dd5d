/**
 * eval --session matches each result to the truth of its own frame: a truth that annotates only
 * some frames (every 10th, the first half) must not shift a looping stream's laps onto the wrong
 * frames. Real fixture truth and clip.
 */
import { describe, expect, it } from 'vitest';
import { clipFrameCount } from '../../src/eval/clip-frame-count.js';
import { evaluateSession, type FrameResult } from '../../src/eval/evaluate-session.js';
import type { Truth } from '../../src/eval/shapes-world.js';
import { clips } from '../helpers/fixtures.js';

const clip01 = clips().find((c) => c.path.includes('clip01'))!; // 640x360, 90 frames
const truth = clip01.truth as Truth;
const queries = ['purple circle', 'black cross', 'star'];

/** What a perfect model would have streamed for frame `seq` of a looping clip01 (laps of 90). */
const perfect = (seq: number): FrameResult => ({
  frame: { seq, width: 640, height: 360 },
  detections: truth.frames[seq % 90]!.objects.flatMap((o) =>
    queries.filter((q) => (q === 'star' ? o.shape === 'star' : q === `${o.color} ${o.shape}`)).map((query) => ({ query, score: 0.9, box: o.box })),
  ),
});
const laps = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => perfect(from + i));
const every10th: Truth = { ...truth, frames: truth.frames.filter((f) => f.index % 10 === 0) };
const firstHalf: Truth = { ...truth, frames: truth.frames.filter((f) => f.index < 45) };

describe('evaluateSession with a truth of some frames', () => {
  it('counts the clip the way a file source numbers it', async () => {
    expect(await clipFrameCount(clip01.path)).toBe(90);
  });

  it('scores a second lap against a truth of every 10th frame when the clip length is known', () => {
    const r = evaluateSession(laps(90, 180), every10th, { queries, threshold: 0.5, frameCount: 90 });
    expect(r).toMatchObject({ frames: 9, results: 90, unscored: 81, mAP50: 1 });
    // the same from the truth's own frameCount
    expect(evaluateSession(laps(90, 180), { ...every10th, frameCount: 90 }, { queries, threshold: 0.5 }).mAP50).toBe(1);
  });

  it('leaves the frames after a truth of the first half unscored, not wrapped onto its frames', () => {
    const r = evaluateSession(laps(0, 90), firstHalf, { queries, threshold: 0.5, frameCount: 90 });
    expect(r).toMatchObject({ frames: 45, results: 90, unscored: 45, mAP50: 1 });
  });

  it('refuses, rather than guesses, results past the truth when the clip length is unknown', () => {
    expect(() => evaluateSession(laps(0, 90), firstHalf, { queries, threshold: 0.5 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/frames up to 89 .* truth annotates frames up to 44 only .* add "frameCount"/) }),
    );
    expect(() => evaluateSession(laps(90, 100), every10th, { queries, threshold: 0.5 })).toThrow(/frames up to 99/);
    // within the truth's frames nothing needs the length: seq is the frame
    expect(evaluateSession(laps(0, 45), firstHalf, { queries, threshold: 0.5 })).toMatchObject({ frames: 45, unscored: 0, mAP50: 1 });
  });

  it('refuses a clip length below what the truth annotates', () => {
    expect(() => evaluateSession(laps(0, 10), truth, { queries, threshold: 0.5, frameCount: 60 })).toThrow(/annotates frame 89, but the clip has 60 frames/);
  });
});
