import { describe, expect, it } from 'vitest';
import { fitTransform } from '../../src/web/fit.js';
import { FrameSync } from '../../src/web/frame-sync.js';
import { RateMeter } from '../../src/web/rate-meter.js';

describe('FrameSync', () => {
  it('pairs a result with the image of its frame, and only that one', () => {
    const disposed: string[] = [];
    const sync = new FrameSync<string>(8, (i) => disposed.push(i));
    sync.addImage(10, 'img10');
    sync.addImage(13, 'img13');
    expect(sync.takeImage(11)).toBeUndefined(); // rate-limited: no image for frame 11
    expect(disposed).toEqual(['img10']); // results come in order: frame 10's result is gone
    expect(sync.takeImage(13)).toBe('img13');
    expect(sync.takeImage(13)).toBeUndefined();
  });

  it('keeps a bounded number of unpaired images', () => {
    const disposed: number[] = [];
    const sync = new FrameSync<number>(2, (i) => disposed.push(i));
    for (const s of [1, 2, 3, 4]) sync.addImage(s, s);
    expect(disposed).toEqual([1, 2]);
    sync.reset();
    expect(disposed).toEqual([1, 2, 3, 4]);
  });
});

describe('fitTransform', () => {
  const src = { width: 1280, height: 720 };
  it('letterboxes with contain and crops with cover, centred', () => {
    expect(fitTransform(src, { width: 640, height: 640 }, 'contain')).toEqual({ scaleX: 0.5, scaleY: 0.5, offsetX: 0, offsetY: 140 });
    expect(fitTransform(src, { width: 640, height: 640 }, 'cover')).toEqual({ scaleX: 640 / 720, scaleY: 640 / 720, offsetX: (640 - 1280 * (640 / 720)) / 2, offsetY: 0 });
  });
  it('stretches each axis on its own', () => {
    expect(fitTransform(src, { width: 640, height: 640 }, 'stretch')).toEqual({ scaleX: 0.5, scaleY: 640 / 720, offsetX: 0, offsetY: 0 });
  });
  it('maps a same-size target one to one', () => {
    expect(fitTransform(src, src, 'contain')).toEqual({ scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 });
  });
});

describe('RateMeter', () => {
  it('counts events a second over its window', () => {
    const m = new RateMeter(2000);
    expect(m.rate(0)).toBe(0);
    for (let t = 0; t <= 2000; t += 100) m.tick(t);
    expect(m.rate(2000)).toBeCloseTo(10, 0);
    expect(m.rate(10_000)).toBe(0); // stopped: falls to zero
  });
});
