import { describe, expect, it } from 'vitest';
import { placeLabels, type LabelRequest } from '../../src/web/label-layout.js';

const box = (x1: number, y1: number, x2: number, y2: number, w = 60, h = 20): LabelRequest => ({ x1, y1, x2, y2, w, h });
const overlap = (a: { x: number; y: number; w: number; h: number }, b: typeof a) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('placeLabels', () => {
  it('puts a label above its box, or just inside it at the top of the canvas', () => {
    expect(placeLabels([box(100, 100, 200, 200)], 640, 360, 2)).toEqual([{ x: 99, y: 79, w: 60, h: 20, spot: 0 }]);
    expect(placeLabels([box(100, 5, 200, 100)], 640, 360, 2)).toEqual([{ x: 99, y: 6, w: 60, h: 20, spot: 1 }]);
  });

  it('keeps labels of boxes close together apart (two overlapping objects: the second goes elsewhere)', () => {
    const spots = placeLabels([box(100, 100, 200, 200), box(110, 105, 210, 205)], 640, 360, 2);
    expect(overlap(spots[0]!, spots[1]!)).toBe(false);
    expect(spots[0]).toEqual({ x: 99, y: 79, w: 60, h: 20, spot: 0 }); // the first (best) keeps its spot
    // the second still sits on its own box's edge: inside its top, here (above it is taken)
    expect(spots[1]).toEqual({ x: 109, y: 106, w: 60, h: 20, spot: 1 });
  });

  it("keeps a label where it was last frame while that spot is free, whichever detection comes first now", () => {
    const a = box(100, 100, 200, 200);
    const b = box(110, 105, 210, 205);
    const last = placeLabels([a, b], 640, 360, 2); // a above its box, b inside its top
    // next frame the scores swap, b comes first: without a preference b would take "above" and push a inside
    const next = placeLabels([{ ...b, prefer: last[1]!.spot }, { ...a, prefer: last[0]!.spot }], 640, 360, 2);
    expect(next.map((p) => p.spot)).toEqual([last[1]!.spot, last[0]!.spot]);
    expect(placeLabels([b, a], 640, 360, 2).map((p) => p.spot)).toEqual([0, 2]); // (what it would have done: both labels move)
  });

  it('keeps every label on the canvas, and draws every one even in a crowd', () => {
    const crowd = Array.from({ length: 12 }, (_, i) => box(300 + i, 150 + i, 340 + i, 190 + i));
    const spots = placeLabels(crowd, 640, 360, 2);
    expect(spots).toHaveLength(12);
    for (const s of spots) {
      expect(s.x).toBeGreaterThanOrEqual(0);
      expect(s.y).toBeGreaterThanOrEqual(0);
      expect(s.x + s.w).toBeLessThanOrEqual(640);
      expect(s.y + s.h).toBeLessThanOrEqual(360);
    }
    // the first few found free spots (above, inside top, below, inside bottom; left and right)
    const firstFour = spots.slice(0, 4);
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) expect(overlap(firstFour[i]!, firstFour[j]!)).toBe(false);
  });

  it('pins a label wider than the space to the canvas edge', () => {
    expect(placeLabels([box(600, 100, 640, 150, 100)], 640, 360, 2)[0]).toMatchObject({ x: 540 });
    expect(placeLabels([box(-50, 100, 10, 150, 100)], 640, 360, 2)[0]).toMatchObject({ x: 0 });
  });
});
