/**
 * Synthetic trajectories for tracker tests: boxes moving in straight lines (bouncing off the frame
 * edges, as in the shapes world), seen by a noisy fake detector that can miss, score low, drop
 * frames and hallucinate. Deterministic (seeded).
 */
import type { Box, Detection } from '../../src/domain/types.js';
import { IdMetricsCounter, type IdMetrics } from '../../src/eval/id-metrics.js';
import { StreamTracker } from '../../src/track/stream-tracker.js';
import type { TrackerOptions } from '../../src/track/config.js';
import { mulberry32 } from '../helpers/prng.js';

export interface Mover {
  id: number;
  query: string;
  /** Centre at t = 0, pixels. */
  x: number;
  y: number;
  /** Pixels a second. */
  vx: number;
  vy: number;
  w: number;
  h: number;
}

/** Frame size the movers bounce inside. */
export const W = 640;
export const H = 360;

export const rng = mulberry32;

/** Position along one axis bouncing between lo and hi. */
function bounce(p: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (span <= 0) return lo;
  let q = (p - lo) % (2 * span);
  if (q < 0) q += 2 * span;
  return lo + (q <= span ? q : 2 * span - q);
}

export function boxAt(m: Mover, t: number, bounded = true): Box {
  let cx = m.x + m.vx * t;
  let cy = m.y + m.vy * t;
  if (bounded) {
    cx = bounce(cx, m.w / 2, W - m.w / 2);
    cy = bounce(cy, m.h / 2, H - m.h / 2);
  }
  return [cx - m.w / 2, cy - m.h / 2, cx + m.w / 2, cy + m.h / 2];
}

/** What the fake detector does with one object at one time. */
export type Seen = 'seen' | 'missed' | 'low';

export interface Scenario {
  movers: Mover[];
  fps: number;
  seconds: number;
  /** Whether frame `i` gets processed (default: all). */
  keep?: (i: number) => boolean;
  /** Per object and time (default: always seen). */
  seen?: (id: number, t: number) => Seen;
  /** Box jitter, std in pixels (default 2). */
  noise?: number;
  /** Score of a seen object (default 0.8) and of a 'low' one (default 0.2). */
  score?: number;
  lowScore?: number;
  /** Chance a frame gets one false positive per query (default 0). */
  falsePositiveRate?: number;
  /** Reporting threshold per query (default 0.3). */
  threshold?: number;
  bounded?: boolean;
  seed?: number;
  tracker?: TrackerOptions;
}

export interface Run {
  metrics: IdMetrics;
  /** Per processed frame: the reported (>= threshold) tracked detections. */
  frames: { t: number; detections: Detection[]; lost: number[] }[];
  tracker: StreamTracker;
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export function detectionsAt(s: Scenario, t: number, r: () => number): Detection[] {
  const noise = s.noise ?? 2;
  const out: Detection[] = [];
  for (const m of s.movers) {
    const what = s.seen?.(m.id, t) ?? 'seen';
    if (what === 'missed') continue;
    const b = boxAt(m, t, s.bounded ?? true);
    const box = b.map((v) => v + gauss(r) * noise) as Box;
    out.push({ query: m.query, score: what === 'low' ? (s.lowScore ?? 0.2) : (s.score ?? 0.8) - 0.1 * r(), box });
  }
  const queries = [...new Set(s.movers.map((m) => m.query))];
  for (const q of queries) {
    if (r() >= (s.falsePositiveRate ?? 0)) continue;
    const x = r() * (W - 60);
    const y = r() * (H - 60);
    out.push({ query: q, score: 0.35 + 0.2 * r(), box: [x, y, x + 40 + 20 * r(), y + 40 + 20 * r()] });
  }
  return out.sort((a, b) => b.score - a.score);
}

/** Runs a scenario through a StreamTracker and scores identities against the movers. */
export function run(s: Scenario): Run {
  const r = rng(s.seed ?? 1);
  const tracker = new StreamTracker(s.tracker);
  const threshold = s.threshold ?? 0.3;
  const queries = Object.fromEntries([...new Set(s.movers.map((m) => m.query))].map((q) => [q, threshold]));
  const counter = new IdMetricsCounter();
  const frames: Run['frames'] = [];
  const n = Math.round(s.fps * s.seconds);
  for (let i = 0; i < n; i++) {
    const t = i / s.fps;
    const dets = detectionsAt(s, t, r);
    if (!(s.keep?.(i) ?? true)) continue;
    const floor = tracker.detectThresholds(queries);
    const u = tracker.update(
      dets.filter((d) => d.score >= floor[d.query]!),
      t,
      queries,
    );
    const reported = u.detections.filter((d) => d.score >= threshold);
    frames.push({ t, detections: reported, lost: u.lost });
    counter.frame(
      s.movers.map((m) => ({ id: m.id, query: m.query, box: boxAt(m, t, s.bounded ?? true) })),
      reported.flatMap((d) => (d.trackId === undefined ? [] : [{ query: d.query, trackId: d.trackId, box: d.box }])),
    );
  }
  return { metrics: counter.result(), frames, tracker };
}

/** `n` movers of `queries` spread over the frame, random directions and speeds (30-150 px/s). */
export function crowd(n: number, queries: readonly string[], seed = 7): Mover[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, id) => {
    const a = r() * 2 * Math.PI;
    const v = 30 + 120 * r();
    const side = 30 + 50 * r();
    return { id, query: queries[id % queries.length]!, x: side + r() * (W - 2 * side), y: side + r() * (H - 2 * side), vx: v * Math.cos(a), vy: v * Math.sin(a), w: side, h: side * (0.8 + 0.4 * r()) };
  });
}
