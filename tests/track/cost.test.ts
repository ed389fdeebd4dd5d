/**
 * Cost of tracking, reported, not asserted (wall-clock limits make flaky tests; the target, at
 * most 0.5 ms a frame with 20 objects, is checked by reading this output and docs/tracking.md).
 */
import { describe, expect, it } from 'vitest';
import { StreamTracker } from '../../src/track/stream-tracker.js';
import { crowd, detectionsAt, rng, type Scenario } from './synthetic.js';

/** Wall-clock and CPU (user + system) ms a frame; CPU time is less hurt by other busy processes. */
function msPerFrame(s: Scenario, frames: number, allQueries: readonly string[] = []): { wall: number; cpu: number } {
  const r = rng(9);
  const dets = Array.from({ length: frames }, (_, i) => detectionsAt(s, i / s.fps, r));
  const th = Object.fromEntries([...new Set([...s.movers.map((m) => m.query), ...allQueries])].map((q) => [q, 0.3]));
  const tracker = new StreamTracker();
  for (let i = 0; i < 60; i++) tracker.update(dets[i]!, i / s.fps, th); // warm up the JIT
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 60; i < frames; i++) tracker.update(dets[i]!, i / s.fps, th);
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / (frames - 60), cpu: (c.user + c.system) / 1000 / (frames - 60) };
}

describe('tracking cost', () => {
  it('reports ms per frame with 20 objects', () => {
    const queries40 = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'white', 'black'].flatMap((c) => ['circle', 'square', 'triangle', 'star', 'cross'].map((s) => `${c} ${s}`));
    const cases: [string, Scenario, string[]][] = [
      ['20 objects, one query', { movers: crowd(20, ['star']), fps: 30, seconds: 0, falsePositiveRate: 0.1 }, []],
      ['20 objects, 20 queries', { movers: crowd(20, queries40.slice(0, 20)), fps: 30, seconds: 0, falsePositiveRate: 0.1 }, []],
      ['20 objects, 40 queries run', { movers: crowd(20, queries40.slice(0, 20)), fps: 30, seconds: 0, falsePositiveRate: 0.1 }, queries40],
    ];
    for (const [name, s, all] of cases) {
      const ms = msPerFrame(s, 2060, all);
      console.log(`tracking cost: ${name}: ${(ms.wall * 1000).toFixed(1)} us/frame wall, ${(ms.cpu * 1000).toFixed(1)} us/frame CPU`);
      expect(ms.wall).toBeGreaterThan(0);
    }
  });
});
