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
