import { describe, expect, it } from 'vitest';
import type { Box } from '../../src/domain/types.js';
import { iou } from '../../src/domain/geometry.js';
import { BoxMotion } from '../../src/track/motion.js';
import { BoxSmoother } from '../../src/track/smoother.js';
import { rng } from './synthetic.js';

const at = (t: number, vx = 120, vy = -60): Box => [100 + vx * t, 200 + vy * t, 160 + vx * t, 260 + vy * t];

describe('BoxMotion', () => {
  it('learns a constant velocity and predicts across a gap of dropped frames', () => {
    const m = new BoxMotion(at(0), 0);
    for (let i = 1; i <= 10; i++) {
      m.predict(i / 30);
      m.update(at(i / 30));
    }
    const [vx, vy] = m.velocity();
    expect(Math.abs(vx - 120)).toBeLessThan(12);
    expect(Math.abs(vy + 60)).toBeLessThan(6);
    m.predict(20 / 30); // 10 frames (a third of a second) with no detection
    // standing still would give IoU 0.125 here
    expect(iou(m.box(), at(20 / 30))).toBeGreaterThan(0.8);
  });

  it('does not move when time stands still or goes back', () => {
    const m = new BoxMotion(at(0), 1);
    m.predict(1);
    m.predict(0.5);
    expect(m.box()).toEqual(at(0));
  });

  it('keeps boxes at least a pixel wide', () => {
    const m = new BoxMotion([10, 10, 12, 12], 0);
    m.predict(1 / 30);
    m.update([10, 10, 10, 10]);
    const b = m.box();
    expect(b[2] - b[0]).toBeGreaterThanOrEqual(1);
  });
});

describe('BoxSmoother', () => {
  const jitter = (b: Box, r: () => number, px: number): Box => b.map((v) => v + (r() - 0.5) * 2 * px) as Box;

  it('calms jitter on a still box', () => {
    const r = rng(5);
    const s = new BoxSmoother(at(0, 0, 0), 0.5, 0);
    let rawErr = 0;
    let smoothErr = 0;
    for (let i = 1; i <= 90; i++) {
      const raw = jitter(at(0, 0, 0), r, 6);
      s.update(raw, 0.5 + (r() - 0.5) * 0.4, i / 30);
      if (i < 30) continue;
      rawErr += Math.abs(raw[0] - 100);
      smoothErr += Math.abs(s.box()[0] - 100);
    }
    expect(smoothErr).toBeLessThan(rawErr * 0.6);
    expect(s.score()).toBeGreaterThan(0.4);
    expect(s.score()).toBeLessThan(0.6);
  });

  it('does not trail a box moving at constant speed (trend term)', () => {
    const s = new BoxSmoother(at(0), 0.5, 0);
    for (let i = 1; i <= 60; i++) s.update(at(i / 30), 0.5, i / 30);
    expect(Math.abs(s.box()[0] - at(2)[0])).toBeLessThan(2);
  });

  it('smooths as much per second at 15 fps as at 30 fps', () => {
    const a = new BoxSmoother(at(0, 0, 0), 0, 0);
    const b = new BoxSmoother(at(0, 0, 0), 0, 0);
    const step: Box = [200, 200, 260, 260];
    for (let i = 1; i <= 6; i++) a.update(step, 1, i / 30);
    for (let i = 1; i <= 3; i++) b.update(step, 1, (2 * i) / 30);
    expect(Math.abs(a.score() - b.score())).toBeLessThan(0.1);
    expect(Math.abs(a.box()[0] - b.box()[0])).toBeLessThan(15);
  });

  it('passes samples through when every time constant is 0', () => {
    const s = new BoxSmoother(at(0), 0.2, 0, { boxTau: 0, trendTau: 0, scoreTau: 0 });
    s.update(at(1), 0.9, 1 / 30);
    expect(s.box()).toEqual(at(1));
    expect(s.score()).toBe(0.9);
  });
});
