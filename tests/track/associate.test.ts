import { describe, expect, it } from 'vitest';
import type { Box } from '../../src/domain/types.js';
import { iou } from '../../src/domain/geometry.js';
import { associate, hungarian } from '../../src/track/associate.js';
import { rng } from './synthetic.js';

/** Cheapest assignment by trying every one (n <= m, small). */
function bruteForce(cost: Float64Array, n: number, m: number): number {
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const go = (i: number, sum: number) => {
    if (i === n) return void (best = Math.min(best, sum));
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      go(i + 1, sum + cost[i * m + j]!);
      used[j] = false;
    }
  };
  go(0, 0);
  return best;
}

const sq = (x: number, y: number, s = 10): Box => [x, y, x + s, y + s];

describe('hungarian', () => {
  it('finds the cheapest assignment, as brute force does, on random matrices', () => {
    const r = rng(3);
    for (let k = 0; k < 200; k++) {
      const n = 1 + Math.floor(r() * 5);
      const m = n + Math.floor(r() * 3);
      const cost = Float64Array.from({ length: n * m }, () => Math.round(r() * 10) / 10);
      const match = hungarian(cost, n, m);
      expect(new Set(match).size).toBe(n);
      const total = [...match].reduce((s, j, i) => s + cost[i * m + j]!, 0);
      expect(total).toBeCloseTo(bruteForce(cost, n, m), 9);
    }
  });

  it('refuses more rows than columns', () => {
    expect(() => hungarian(new Float64Array(2), 2, 1)).toThrow(RangeError);
  });
});

describe('associate', () => {
  it('maximises total IoU where greedy would strand a track', () => {
    // greedy takes A-1 (best single pair) and leaves B alone; the optimum is A-2 + B-1
    const A = sq(0, 0);
    const B = sq(-4, 0);
    const d1 = sq(-1, 0);
    const d2 = sq(2, 0);
    const a = associate([A, B], [d1, d2], 0.3);
    expect(a.pairs).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(a.rows).toEqual([]);
    expect(a.cols).toEqual([]);
  });

  it('never pairs below the minimum IoU, and lists what is left on either side', () => {
    const a = associate([sq(0, 0), sq(100, 100)], [sq(1, 1), sq(50, 50), sq(300, 0)], 0.5);
    expect(a.pairs).toEqual([[0, 0]]);
    expect(a.rows).toEqual([1]);
    expect(a.cols).toEqual([1, 2]);
  });

  it('finds the pairing with the most total margin (IoU - minimum), as brute force does', () => {
    const r = rng(11);
    const boxes = (k: number) => Array.from({ length: k }, () => sq(r() * 40, r() * 40, 10 + r() * 10));
    /** Best total margin over every partial matching. */
    const best = (a: Box[], b: Box[]): number => {
      let top = 0;
      const used = new Array<boolean>(b.length).fill(false);
      const go = (i: number, sum: number) => {
        if (i === a.length) return void (top = Math.max(top, sum));
        go(i + 1, sum);
        b.forEach((bj, j) => {
          const v = iou(a[i]!, bj);
          if (used[j] || v < 0.2) return;
          used[j] = true;
          go(i + 1, sum + v - 0.2);
          used[j] = false;
        });
      };
      go(0, 0);
      return top;
    };
    for (let k = 0; k < 300; k++) {
      const a = boxes(1 + Math.floor(r() * 5));
      const b = boxes(1 + Math.floor(r() * 5));
      const got = associate(a, b, 0.2);
      const margin = got.pairs.reduce((s, [i, j]) => s + iou(a[i]!, b[j]!) - 0.2, 0);
      expect(margin).toBeCloseTo(best(a, b), 6);
      expect(got.rows.length + got.pairs.length).toBe(a.length);
      expect(got.cols.length + got.pairs.length).toBe(b.length);
    }
  });

  it('prefers one good pair to two poor ones (a lost track does not take a tracked one\'s box)', () => {
    // IoU: tracked-object 0.8, drifted-object 0.6, tracked-clutter 0.25, drifted-clutter ~0.
    // Most total IoU would pair drifted-object + tracked-clutter (1.05 > 0.8); margin says no.
    const object = sq(0, 0);
    const tracked = sq(10 / 9, 0);
    const drifted = sq(-2.5, 0); // a track whose object is gone, predicted onto another one
    const clutter = sq(10 / 9 + 6, 0);
    expect(iou(tracked, clutter)).toBeCloseTo(0.25, 6);
    const a = associate([tracked, drifted], [object, clutter], 0.2);
    expect(a.pairs).toEqual([[0, 0]]);
  });

  it('pairs a huge overlapping crowd greedily, one to one, within the gate', () => {
    const r = rng(8);
    const a = Array.from({ length: 80 }, () => sq(r() * 30, r() * 30, 20));
    const b = Array.from({ length: 90 }, () => sq(r() * 30, r() * 30, 20));
    const got = associate(a, b, 0.3);
    expect(new Set(got.pairs.map((p) => p[0])).size).toBe(got.pairs.length);
    expect(new Set(got.pairs.map((p) => p[1])).size).toBe(got.pairs.length);
    for (const [i, j] of got.pairs) expect(iou(a[i]!, b[j]!)).toBeGreaterThanOrEqual(0.3);
    expect(got.pairs.length).toBeGreaterThan(40);
  });

  it('handles more tracks than detections, and empty sides', () => {
    expect(associate([sq(0, 0), sq(50, 0), sq(100, 0)], [sq(51, 0)], 0.2).pairs).toEqual([[1, 0]]);
    expect(associate([], [sq(0, 0)], 0.2)).toEqual({ pairs: [], rows: [], cols: [0] });
    expect(associate([sq(0, 0)], [], 0.2)).toEqual({ pairs: [], rows: [0], cols: [] });
  });
});
