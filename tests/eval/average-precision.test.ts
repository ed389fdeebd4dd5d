import { describe, expect, it } from 'vitest';
import { averagePrecision, Scorer } from '../../src/eval/average-precision.js';
import { parseWorldQuery, scoringQueries } from '../../src/eval/shapes-world.js';
import type { Box } from '../../src/domain/types.js';

const obj = (color: string, shape: string, box: Box) => ({ color, shape, box });
const det = (query: string, score: number, box: Box) => ({ query, score, box });

describe('average precision (all-point)', () => {
  it('is 1 for perfect detections and 0 for none', () => {
    expect(averagePrecision([{ score: 0.9, tp: true }, { score: 0.8, tp: true }], 2)).toBe(1);
    expect(averagePrecision([], 3)).toBe(0);
    expect(averagePrecision([{ score: 0.9, tp: false }], 0)).toBeNull();
  });

  it('matches a hand-computed case', () => {
    // ranks: TP, FP, TP, FP; 3 truths. Recall steps 1/3 at precision 1, 2/3 at precision 2/3.
    // AP = 1/3 * 1 + 1/3 * 2/3 = 5/9
    const s = [{ score: 0.9, tp: true }, { score: 0.8, tp: false }, { score: 0.7, tp: true }, { score: 0.6, tp: false }];
    expect(averagePrecision(s, 3)).toBeCloseTo(5 / 9, 10);
  });

  it('uses the precision envelope (a later higher precision lifts earlier recall steps)', () => {
    // FP, TP, TP with 2 truths: precision 0, 1/2, 2/3 -> envelope 2/3 at both recall steps
    const s = [{ score: 0.9, tp: false }, { score: 0.8, tp: true }, { score: 0.7, tp: true }];
    expect(averagePrecision(s, 2)).toBeCloseTo(2 / 3, 10);
  });
});

describe('Scorer', () => {
  const truth = [obj('red', 'circle', [10, 10, 50, 50]), obj('blue', 'square', [100, 100, 140, 140])];

  it('gives 1.0 to perfect boxes and counts no false positives', () => {
    const s = new Scorer(['red circle', 'circle', 'red object', 'blue square', 'green star'], 0.3);
    s.addFrame(truth, [det('red circle', 0.9, [10, 10, 50, 50]), det('circle', 0.8, [11, 10, 50, 51]), det('red object', 0.7, [10, 10, 50, 50]), det('blue square', 0.9, [100, 100, 140, 140])]);
    const r = s.result();
    expect(r.mAP50).toBe(1);
    expect(r.perQuery['green star']).toBeNull();
    expect(r.absentFalsePositiveRate).toBe(0);
    expect(r.recallAtThreshold).toBe(1);
  });

  it('scores a box shifted below IoU 0.5 as a miss', () => {
    const s = new Scorer(['red circle'], 0.3);
    s.addFrame(truth, [det('red circle', 0.9, [30, 30, 70, 70])]); // IoU = 400/2800
    expect(s.result().mAP50).toBe(0);
    expect(s.result().recallAtThreshold).toBe(0);
  });

  it('counts a duplicate box as a false positive that lowers AP only when it outranks', () => {
    const s = new Scorer(['red circle'], 0.3);
    s.addFrame(truth, [det('red circle', 0.9, [10, 10, 50, 50]), det('red circle', 0.8, [10, 10, 50, 50])]);
    expect(s.result().mAP50).toBe(1); // TP first, the duplicate after full recall
    const t = new Scorer(['red circle'], 0.3);
    t.addFrame(truth, [det('red circle', 0.9, [0, 0, 5, 5]), det('red circle', 0.8, [10, 10, 50, 50])]);
    expect(t.result().mAP50).toBeCloseTo(0.5, 10);
  });

  it('ranks boxes across frames, not frame by frame (one AP per query over the whole clip)', () => {
    // frame 1: a miss at 0.9; frame 2: a hit at 0.8. Across the clip: FP then TP, AP = 1/2.
    // Averaging per frame would give (0 + 1) / 2 as well, so a third frame tells them apart:
    // frame 3: a hit at 0.95. Ranked: TP(0.95), FP(0.9), TP(0.8) with 3 truths (frame 1's object is
    // never found): recall 1/3 at precision 1, 2/3 at precision 2/3 -> AP = 1/3 + 2/9 = 5/9.
    const s = new Scorer(['red circle'], 0.3);
    s.addFrame(truth, [det('red circle', 0.9, [60, 60, 90, 90])]);
    s.addFrame(truth, [det('red circle', 0.8, [10, 10, 50, 50])]);
    s.addFrame(truth, [det('red circle', 0.95, [10, 10, 50, 50])]);
    expect(s.result().perQuery['red circle']).toBeCloseTo(5 / 9, 10);
    expect(s.result().recallAtThreshold).toBeCloseTo(2 / 3, 10);
    expect(s.result().frames).toBe(3);
  });

  it('matches at IoU exactly 0.5 and counts a score exactly at the threshold', () => {
    // [10,10,50,50] vs [10,10,50,90]: intersection 1600, union 3200 -> IoU 0.5 exactly
    const s = new Scorer(['red circle', 'blue square', 'green star'], 0.4);
    s.addFrame(truth, [det('red circle', 0.4, [10, 10, 50, 90]), det('blue square', 0.39, [100, 100, 140, 140]), det('green star', 0.4, [0, 0, 9, 9])]);
    const r = s.result();
    expect(r.perQuery['red circle']).toBe(1);
    expect(r.recallAtThreshold).toBe(0.5); // the red circle at 0.4 counts; the blue square at 0.39 does not
    expect(r.absentFalsePositiveRate).toBe(1); // green star, absent, boxed at exactly 0.4
  });

  it('finds each object with at most one box: one box between two overlapping objects finds one', () => {
    const two = [obj('red', 'triangle', [0, 0, 100, 100]), obj('red', 'triangle', [0, 20, 100, 120])];
    const s = new Scorer(['red triangle'], 0.3);
    s.addFrame(two, [det('red triangle', 0.9, [0, 10, 100, 110])]); // IoU 0.82 with each
    expect(s.result().recallAtThreshold).toBe(0.5);
    expect(s.result().perQuery['red triangle']).toBe(0.5);
  });

  it('splits seen and held-out pairs, and counts false positives only on absent (frame, query) pairs', () => {
    const held = [obj('orange', 'cross', [10, 10, 50, 50]), obj('red', 'circle', [100, 100, 140, 140])];
    const s = new Scorer(['orange cross', 'red circle', 'blue square'], 0.3);
    // the present red circle boxed twice (a duplicate is not an absent-query false positive)
    s.addFrame(held, [det('orange cross', 0.9, [10, 10, 50, 50]), det('red circle', 0.9, [0, 0, 9, 9]), det('red circle', 0.5, [0, 0, 9, 9]), det('blue square', 0.2, [0, 0, 9, 9])]);
    const r = s.result();
    expect([r.heldOutMAP50, r.seenMAP50, r.mAP50]).toEqual([1, 0, 0.5]);
    expect(r.absentFalsePositiveRate).toBe(0); // one absent pair (blue square), its box below 0.3
    expect(r.recallAtThreshold).toBe(0.5);
  });

  it('counts an absent query that still gets a box at the threshold as a false positive', () => {
    const s = new Scorer(['green star', 'yellow cross'], 0.3);
    s.addFrame(truth, [det('green star', 0.31, [0, 0, 9, 9]), det('yellow cross', 0.29, [0, 0, 9, 9])]);
    expect(s.result().absentFalsePositiveRate).toBe(0.5);
    expect(s.result().mAP50).toBeNull();
  });
});

describe('shapes-world queries', () => {
  it('parses the grammar: articles, plurals, colour-only, shape-only, and unknown words', () => {
    expect(parseWorldQuery('The red circles.')).toMatchObject({ color: 'red', shape: 'circle', unknown: false });
    expect(parseWorldQuery('blue things')).toMatchObject({ color: 'blue', shape: null, unknown: false });
    expect(parseWorldQuery('a star')).toMatchObject({ color: null, shape: 'star', unknown: false });
    expect(parseWorldQuery('dog').unknown).toBe(true);
    expect(parseWorldQuery('object').unknown).toBe(true);
    expect(parseWorldQuery('red dog').unknown).toBe(true);
  });

  it('has the 53 scoring queries', () => {
    expect(scoringQueries()).toHaveLength(53);
    expect(new Set(scoringQueries()).size).toBe(53);
  });
});

describe('truth lookup by frame index', () => {
  it('scores each frame against the truth frame with its index, and skips frames the truth leaves out', async () => {
    const { evaluateSession } = await import('../../src/eval/evaluate-session.js');
    const a = obj('red', 'circle', [10, 10, 50, 50]);
    const b = obj('red', 'circle', [200, 200, 240, 240]);
    const truth = { width: 640, height: 360, fps: 30, frames: [{ index: 0, objects: [a] }, { index: 2, objects: [b] }] };
    const result = (seq: number, box: Box) => ({ frame: { seq }, detections: [det('red circle', 0.9, box)] });
    const r = evaluateSession([result(0, a.box), result(1, [0, 0, 5, 5]), result(2, b.box)], truth, { queries: ['red circle'], threshold: 0.3 });
    expect(r.mAP50).toBe(1);
    expect(r.recallAtThreshold).toBe(1);
    expect(r.unscored).toBe(1); // frame 1 has no truth entry
  });
});
