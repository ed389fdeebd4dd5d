import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/client/index.js';
import { BoxSmoother, frameInterval, iou, REFERENCE_INTERVAL_MS } from '../../src/web/box-smoother.js';

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

  it('keeps `smoothing` of the old box per 1/30 s, not per result: fewer results a second keep less of it', () => {
    const at = (ms: number) => ({ capturedAt: 1_700_000_000_000 + ms });
    const s = new BoxSmoother(0.5);
    s.update([det('a', [0, 0, 200, 100])], at(0));
    expect(s.update([det('a', [64, 0, 264, 100])], at(REFERENCE_INTERVAL_MS))[0]!.box.map(Math.round)).toEqual([32, 0, 232, 100]); // 30 a second: half
    const slow = new BoxSmoother(0.5);
    slow.update([det('a', [0, 0, 200, 100])], at(0));
    // maxRate=5: 200 ms is six reference intervals, so 0.5^6 of the old box is kept, not half
    expect(slow.update([det('a', [64, 0, 264, 100])], at(200))[0]!.box.map(Math.round)).toEqual([63, 0, 263, 100]);
  });

  it('lags a moving object no further behind at 5 results a second than at 30', () => {
    // an object moving right at 0.3 px/ms, sampled for 3 s: how far behind the drawn box ends up
    const lagAt = (rate: number) => {
      const s = new BoxSmoother(0.5);
      let lag = 0;
      for (let t = 0; t <= 3000; t += 1000 / rate) {
        const x = 0.3 * t;
        lag = x - s.update([det('a', [x, 0, x + 200, 100])], { capturedAt: 1_700_000_000_000 + t })[0]!.box[0];
      }
      return lag;
    };
    expect(lagAt(30)).toBeCloseTo(10, 0); // 0.3 px/ms × 33.3 ms × 0.5/(1 - 0.5)
    expect(lagAt(5)).toBeLessThan(lagAt(30));
  });

  it('measures the time between results by capture time, else pts, else one reference interval, and never as nothing', () => {
    expect(frameInterval({ capturedAt: 1000, pts: 1 }, { capturedAt: 1100, pts: 1.5 })).toBe(100);
    expect(frameInterval({ capturedAt: 1000, pts: 1 }, { capturedAt: 900, pts: 1.2 })).toBeCloseTo(200); // the capture clock jumped back
    expect(frameInterval({ capturedAt: 1000, pts: 5 }, { capturedAt: 900, pts: 0 })).toBeCloseTo(REFERENCE_INTERVAL_MS); // a looped replay
    expect(frameInterval(undefined, { capturedAt: 900 })).toBeCloseTo(REFERENCE_INTERVAL_MS); // the first, or no times at all
    expect(frameInterval({ capturedAt: 1000 }, { capturedAt: 1000 })).toBeCloseTo(REFERENCE_INTERVAL_MS); // a repeated time
    expect(frameInterval({ capturedAt: 1000 }, { capturedAt: 1002 })).toBeCloseTo(1000 / 120); // too close to be real: must not freeze a box
  });

  it('computes IoU', () => {
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3);
    expect(iou([0, 0, 10, 10], [10, 0, 20, 10])).toBe(0);
  });
});
