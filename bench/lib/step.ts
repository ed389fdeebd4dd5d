/** What every benchmark step receives and returns; run.ts joins the results into the report. */
import type { Measure } from './stats.js';

export interface StepContext {
  /** Short CI version: few iterations, only checks that the step still runs. */
  ci: boolean;
  /** Runs per number (the median of these is reported). */
  runs: number;
  /** A directory for temporary files (clips), removed after the run. */
  tmp: string;
  log: (line: string) => void;
}

/** A target from another issue, checked as a ratio or bound measured in this run. */
export interface Target {
  issue: number;
  name: string;
  /** The measured value as shown, e.g. "1.07x (1.03–1.12)". */
  measured: string;
  /** The target, e.g. "≤ 1.15x". */
  target: string;
  pass: boolean;
  /** The median the verdict is based on. */
  value: number;
  note?: string;
}

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** A line under the table: what was measured and how. */
  note?: string;
}

export interface ChartSeries {
  name: string;
  /** x, median y, and the spread (min, max) over runs. */
  points: { x: number; y: number; lo?: number; hi?: number }[];
  dashed?: boolean;
}

export interface Chart {
  /** File name under docs/bench/ (no extension). */
  file: string;
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  series: ChartSeries[];
}

export interface StepResult {
  name: string;
  title: string;
  seconds: number;
  /** Share of all cores other processes used during the step (0..1); NaN where unknown. */
  otherCpu?: number;
  targets: Target[];
  tables: Table[];
  charts: Chart[];
  notes: string[];
  /** Every measure, for results.json. */
  data: Record<string, Measure | unknown>;
}

export function check(issue: number, name: string, value: number, op: '<=' | '>=' | '<', limit: number, measured: string, target: string, note?: string): Target {
  const pass = Number.isFinite(value) && (op === '<=' ? value <= limit : op === '<' ? value < limit : value >= limit);
  return { issue, name, value, measured, target, pass, ...(note && { note }) };
}

/** Milliseconds per call of `fn`, over `n` sequential calls. */
export async function msPerCall(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return (performance.now() - t0) / n;
}

/**
 * Mean ms a call of each of `fns`, called in turn (fns[0], fns[1], ..., then again), the order
 * rotating each round: the machine's drift over a run falls on all of them alike. Two graphs a
 * few percent apart can swap places between back-to-back blocks of calls, never within rounds.
 */
export async function msPerCallInterleaved(n: number, fns: ((i: number) => Promise<unknown>)[]): Promise<number[]> {
  const total = fns.map(() => 0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < fns.length; k++) {
      const j = (i + k) % fns.length;
      const t0 = performance.now();
      await fns[j]!(i);
      total[j]! += performance.now() - t0;
    }
  }
  return total.map((t) => t / n);
}
