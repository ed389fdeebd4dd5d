/** The streaming step's plan (full or CI) and what every section shares: one window's summary. */
import type { GroundingModel, QuerySet } from '../../../src/model/index.js';
import type { Harness, WindowResult } from '../../lib/harness.js';
import { measure, type Measure } from '../../lib/stats.js';
import type { Chart, StepContext, Table, Target } from '../../lib/step.js';

export interface Plan {
  /** Window length, s, for fast sources and for 30 fps ones (which need more frames). */
  window: number;
  window30: number;
  settle: number;
  aloneCalls: number;
  clients: number[];
  queries: number[];
  streams: number[];
  /** `window`: this level's window, s, when it needs more samples (a p99 from 90 would be the 2nd largest). */
  loads: { label: string; factor?: number; fps?: number; window?: number }[];
  /** After the last load level (4x): `slices` windows of `slice` s back to back, no pause. */
  sustained: { slices: number; slice: number };
}

export const FULL: Plan = {
  window: 2,
  window30: 3,
  settle: 0.5,
  aloneCalls: 60,
  clients: [1, 10, 100, 200, 500],
  queries: [1, 8, 32, 128],
  streams: [1, 2, 4, 8],
  loads: [{ label: '30 fps', fps: 30, window: 12 }, { label: '0.5x', factor: 0.5 }, { label: '0.9x', factor: 0.9 }, { label: '2x', factor: 2 }, { label: '4x', factor: 4 }],
  sustained: { slices: 12, slice: 1 },
};
export const CI: Plan = {
  window: 0.3,
  window30: 0.5,
  settle: 0.1,
  aloneCalls: 5,
  clients: [1, 10],
  queries: [1, 8],
  streams: [1, 2],
  loads: [{ label: '30 fps', fps: 30 }, { label: '4x', factor: 4 }],
  sustained: { slices: 3, slice: 0.3 },
};

/** One stream's view of a window: rates, latency, and CPU per processed frame. */
export function summarize(w: WindowResult, id: string) {
  const s = w.streams[id]!;
  return {
    fps: s.processed / w.seconds,
    offered: s.framesIn / w.seconds,
    p50: s.clients?.latency.p50 ?? NaN,
    p99: s.clients?.latency.p99 ?? NaN,
    outsideP50: s.clients?.outsideDetect.p50 ?? NaN,
    outsideP99: s.clients?.outsideDetect.p99 ?? NaN,
    detectP99: s.clients?.inDetect.p99 ?? NaN,
    results: s.clients?.results ?? 0,
    missed: s.clients?.missed ?? 0,
    errors: s.clients?.errors ?? 0,
    held: s.held,
    processed: s.processed,
    dropped: s.dropped,
    cpuPerFrame: w.cpuMs / Math.max(1, w.processed),
    loopP99: w.loopDelayP99,
    otherCpu: w.otherCpu * 100,
  };
}

export type Summary = ReturnType<typeof summarize>;
export const col = (rows: Summary[], k: keyof Summary, unit = '') => measure(rows.map((r) => r[k] as number), unit);
export const point = (x: number, m: Measure) => ({ x, y: m.median, lo: m.min, hi: m.max });

/** What a section gets: the server, the model's measured speed, and where results go. */
export interface Section {
  ctx: StepContext;
  plan: Plan;
  runs: number;
  h: Harness;
  model: GroundingModel;
  qs8: QuerySet;
  /** detect() alone with 8 queries: wall ms, CPU ms, and frames/s (1 / wall). */
  detect8: Measure;
  detect8Cpu: Measure;
  capacity: number;
  targets: Target[];
  tables: Table[];
  charts: Chart[];
  data: Record<string, unknown>;
  /** Records error messages clients received (the step fails on any). */
  noteErrors: (rows: Summary[], where: string) => void;
}
