/**
 * Where labels go, so that labels of boxes close together do not cover each other. Greedy, in the
 * order given (detections come best first, so the best gets the first choice): each label takes
 * the first of its spots, in order of preference, that stays on the canvas and overlaps no label
 * placed before it. Where every spot overlaps (a crowd), it takes its first spot on the canvas, as
 * if there were no others: every label is drawn. A label may ask for the spot it had on the last
 * frame (`prefer`) and gets it while that is free, so that labels do not hop from spot to spot as
 * scores jitter and the order changes.
 */

/** A box's corners and its label's size, in canvas pixels. */
export interface LabelRequest {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  /** The label's width and height. */
  readonly w: number;
  readonly h: number;
  /** The spot to try first (Placed.spot of the last frame). */
  readonly prefer?: number;
}

export interface Placed {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /** Which of the box's spots (0-3 left-aligned: above, inside top, below, inside bottom; 4-7 the
   * same right-aligned). */
  readonly spot: number;
}

/** One placement per request, in order. `lineWidth`: the boxes' stroke, which labels sit outside
 * of (above or below) or inside of. */
export function placeLabels(requests: readonly LabelRequest[], width: number, height: number, lineWidth: number): Placed[] {
  const half = lineWidth / 2;
  const placed: Placed[] = [];
  for (const r of requests) {
    const fits = (y: number) => y >= 0 && y + r.h <= height;
    const left = clamp(r.x1 - half, 0, width - r.w);
    const right = clamp(r.x2 + half - r.w, 0, width - r.w);
    // above the box, just inside its top, below it, just inside its bottom; left-aligned, then right
    const ys = [r.y1 - half - r.h, r.y1 + half, r.y2 + half, r.y2 - half - r.h];
    const spots: Placed[] = [];
    (left === right ? [left] : [left, right]).forEach((x, xi) => ys.forEach((y, yi) => fits(y) && spots.push({ x, y, w: r.w, h: r.h, spot: 4 * xi + yi })));
    // (a label taller than the canvas: pinned to its top)
    const first = spots[0] ?? { x: left, y: clamp(r.y1 + half, 0, Math.max(0, height - r.h)), w: r.w, h: r.h, spot: 1 };
    const isFree = (s: Placed) => !placed.some((p) => overlaps(s, p));
    const kept = spots.find((s) => s.spot === r.prefer);
    const free = kept && isFree(kept) ? kept : spots.find(isFree);
    placed.push(free ?? first);
  }
  return placed;
}

function overlaps(a: Placed, b: Placed): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(v, hi));
}
