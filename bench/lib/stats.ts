/**
 * Summaries of repeated runs: every reported number is the median of several runs, with the
 * smallest and largest run kept so that the spread can be shown next to it.
 */

/** A number measured over several runs. */
export interface Measure {
  /** Median of `runs`. */
  median: number;
  min: number;
  max: number;
  /** Every run's value, in the order measured. */
  runs: number[];
  unit: string;
}

export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The p-th percentile (0..100) by linear interpolation between closest ranks. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (!n) return NaN;
  const s = Float64Array.from(values as ArrayLike<number>).sort();
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

export function measure(runs: readonly number[], unit: string): Measure {
  const finite = runs.filter(Number.isFinite);
  return {
    median: median(finite),
    min: finite.length ? Math.min(...finite) : NaN,
    max: finite.length ? Math.max(...finite) : NaN,
    runs: [...runs],
    unit,
  };
}

/** Per-run ratios a[i] / b[i] (runs measured in pairs, side by side). */
export function ratioOf(a: Measure, b: Measure, unit = 'x'): Measure {
  return measure(a.runs.map((v, i) => v / b.runs[i]!), unit);
}

/** A growable Float64Array for per-event samples (latencies) without per-sample allocation. */
export class Samples {
  private buf = new Float64Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}

/** Formats a number for tables: 3 significant digits, no exponent for everyday magnitudes. */
export function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a === 0) return '0';
  return Number(v.toPrecision(digits)).toString();
}

/** "4.1 (3.9–4.4)": median and range of runs. */
export function fmtMeasure(m: Measure, digits = 3): string {
  if (m.runs.length < 2) return fmt(m.median, digits);
  return `${fmt(m.median, digits)} (${fmt(m.min, digits)}–${fmt(m.max, digits)})`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
