import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/client/index.js';
import { BoxSmoother, iou } from '../../src/web/box-smoother.js';

const det = (query: string, box: [number, number, number, number], trackId?: number): Detection => ({ query, score: 0.9, box, ...(trackId !== undefined ? { trackId } : {}) });

describe('BoxSmoother', () => {
  it('passes boxes through when smoothing is off', () => {
    const s = new BoxSmoother(0);
    s.update([det('a', [0, 0, 10, 10])]);
    expect(s.update([det('a', [10, 0, 20, 10])])[0]!.box).toEqual([10, 0, 20, 10]);
  });

  it('moves a continuing box part of the way, keeping `smoothing` of the old one', () => {
    const s = new BoxSmoother(0.5);
    expect(s.update([det('a', [0, 0, 100, 100])])[0]!.box).toEqual([0, 0, 100, 100]);
    expect(s.update([det('a', [20, 0, 120, 100])])[0]!.box).toEqual([10, 0, 110, 100]);
    expect(s.update([det('a', [20, 0, 120, 100])])[0]!.box).toEqual([15, 0, 115, 100]);
  });

  it('matches boxes of the same query by overlap, and lets new boxes appear where they are', () => {
    const s = new BoxSmoother(0.5);
    s.update([det('a', [0, 0, 100, 100]), det('b', [200, 0, 300, 100])]);
    const out = s.update([det('b', [210, 0, 310, 100]), det('a', [500, 500, 600, 600]), det('a', [0, 10, 100, 110])]);
    expect(out.map((d) => d.box)).toEqual([
      [205, 0, 305, 100],
      [500, 500, 600, 600], // overlaps nothing: a new object
      [0, 5, 100, 105],
    ]);
  });

  it('follows track ids when detections carry them, whatever the overlap', () => {
    const s = new BoxSmoother(0.5);
    s.update([det('a', [0, 0, 10, 10], 7), det('a', [100, 0, 110, 10], 8)]);
    expect(s.update([det('a', [2, 0, 12, 10], 8)])[0]!.box).toEqual([51, 0, 61, 10]);
  });

  it('starts afresh after reset()', () => {
    const s = new BoxSmoother(0.9);
    s.update([det('a', [0, 0, 10, 10])]);
    s.reset();
    expect(s.update([det('a', [1, 0, 11, 10])])[0]!.box).toEqual([1, 0, 11, 10]);
  });

  it('computes IoU', () => {
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3);
    expect(iou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
  });
});
