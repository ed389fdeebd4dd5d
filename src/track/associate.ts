/**
 * Assignment of detections to tracks by box overlap, as ByteTrack's: among pairs at or above a
 * minimum IoU (a pair below it counts as no pair), the pairing with the most total margin
 * (IoU - minimum IoU). A weak pair is worth little, so one good pair beats two poor ones and a
 * track that lost its object does not take another's detection just to pair more boxes. Solved
 * exactly with the Hungarian method (shortest augmenting paths with potentials, O(n^2 m)) on each
 * group of boxes that overlap one another; per query there are a handful: microseconds.
 */
import { iou } from '../domain/geometry.js';
import type { Box } from '../domain/types.js';

export interface Assignment {
  /** [row, column] pairs, each within the gate (IoU >= the minimum, or cost <= the maximum). */
  pairs: [number, number][];
  /** Rows (tracks) left without a pair, ascending. */
  rows: number[];
  /** Columns (detections) left without a pair, ascending. */
  cols: number[];
}

/** Pairs `rows` (e.g. predicted track boxes) with `cols` (detected boxes); see the file comment. */
export function associate(rows: readonly Box[], cols: readonly Box[], minIou: number): Assignment {
  const n = rows.length;
  const m = cols.length;
  const cost = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) cost[i * m + j] = 1 - iou(rows[i]!, cols[j]!);
  return assign(cost, n, m, 1 - minIou);
}

/**
 * Pairs rows with columns using only pairs whose cost is at most `maxCost` (`cost` row-major
 * [n, m]), with the most total margin (maxCost - cost). Any n and m.
 */
export function assign(cost: Float64Array, n: number, m: number, maxCost: number): Assignment {
  const pairs: [number, number][] = [];
  // Split into connected components of allowed pairs: usually each track overlaps only its own
  // detection, and a 1 x 1 component needs no solver.
  const parent = Int32Array.from({ length: n + m }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  let any = false;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      if (!(cost[i * m + j]! <= maxCost)) continue;
      any = true;
      const a = find(i);
      const b = find(n + j);
      if (a !== b) parent[a] = b;
    }
  }
  if (any) {
    const groups = new Map<number, { rows: number[]; cols: number[] }>();
    const group = (x: number) => {
      const root = find(x);
      let g = groups.get(root);
      if (!g) groups.set(root, (g = { rows: [], cols: [] }));
      return g;
    };
    for (let i = 0; i < n; i++) group(i).rows.push(i);
    for (let j = 0; j < m; j++) group(n + j).cols.push(j);
    for (const g of groups.values()) {
      if (!g.rows.length || !g.cols.length) continue;
      if (g.rows.length === 1 && g.cols.length === 1) pairs.push([g.rows[0]!, g.cols[0]!]);
      else if (Math.min(g.rows.length, g.cols.length) > MAX_EXACT) greedy(cost, m, g.rows, g.cols, maxCost, pairs);
      else solve(cost, m, g.rows, g.cols, maxCost, pairs);
    }
  }
  const usedR = new Uint8Array(n);
  const usedC = new Uint8Array(m);
  for (const [i, j] of pairs) {
    usedR[i] = 1;
    usedC[j] = 1;
  }
  const left = (used: Uint8Array) => {
    const out: number[] = [];
    for (let i = 0; i < used.length; i++) if (!used[i]) out.push(i);
    return out;
  };
  pairs.sort((a, b) => a[0] - b[0]);
  return { pairs, rows: left(usedR), cols: left(usedC) };
}

/** Components with more boxes than this on both sides are paired greedily (O(k log k), not O(n^3)):
 * a crowd of clutter from a very low threshold must not stall the stream. */
const MAX_EXACT = 48;

/** Best margin first, each box once; appended to `out`. */
function greedy(cost: Float64Array, m: number, rows: number[], cols: number[], maxCost: number, out: [number, number][]): void {
  const cand: [number, number, number][] = [];
  for (const i of rows) for (const j of cols) if (cost[i * m + j]! <= maxCost) cand.push([cost[i * m + j]!, i, j]);
  cand.sort((a, b) => a[0] - b[0]);
  const usedR = new Set<number>();
  const usedC = new Set<number>();
  for (const [, i, j] of cand) {
    if (usedR.has(i) || usedC.has(j)) continue;
    usedR.add(i);
    usedC.add(j);
    out.push([i, j]);
  }
}

/** Optimal pairs within one component (rows x cols of the full [*, m] cost matrix), appended to `out`. */
function solve(cost: Float64Array, m: number, rows: number[], cols: number[], maxCost: number, out: [number, number][]): void {
  // Gated pairs cost 0, as much as leaving both unpaired; allowed ones cost - maxCost < 0 (a hair
  // below, so that a pair right at the gate still pairs).
  const transpose = rows.length > cols.length;
  const r = transpose ? cols.length : rows.length;
  const c = transpose ? rows.length : cols.length;
  const sq = new Float64Array(r * c);
  rows.forEach((i, a) =>
    cols.forEach((j, b) => {
      const v = cost[i * m + j]!;
      sq[transpose ? b * c + a : a * c + b] = v <= maxCost ? v - maxCost - 1e-9 : 0;
    }),
  );
  const match = hungarian(sq, r, c);
  for (let x = 0; x < r; x++) {
    const y = match[x]!;
    if (sq[x * c + y]! >= 0) continue;
    out.push(transpose ? [rows[y]!, cols[x]!] : [rows[x]!, cols[y]!]);
  }
}

/**
 * Minimum-cost assignment of every row to a distinct column, for n <= m; `cost` is row-major
 * [n, m]. Returns the column of each row.
 */
export function hungarian(cost: Float64Array, n: number, m: number): Int32Array {
  if (n > m) throw new RangeError(`hungarian needs rows <= columns, got ${n} x ${m}`);
  // 1-based potentials and matching, column 0 a sentinel (e-maxx formulation)
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // row matched to column j
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost[(i0 - 1) * m + (j - 1)]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const match = new Int32Array(n);
  for (let j = 1; j <= m; j++) if (p[j]! > 0) match[p[j]! - 1] = j - 1;
  return match;
}
