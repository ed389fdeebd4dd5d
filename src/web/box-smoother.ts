/**
 * Box smoothing for the overlay: each new box moves only part of the way from the box it
 * continues, which calms the frame-to-frame jitter of a detector. A box continues the previous
 * result's box with the same track id when detections carry one (`trackId`),
 * else the same query's box it overlaps most (IoU >= minIou). Pure; state lives in the instance.
 */
import type { Box, Detection } from '../client/index.js';

/** A detection as the pages draw it (`trackId` is set once the server tracks it). */
export type DrawnDetection = Detection;

export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

export class BoxSmoother {
  private previous: DrawnDetection[] = [];

  /**
   * `smoothing` in [0, 1): the share of the old box a new one keeps (0: off). `minIou`: least
   * overlap for a box to continue another when there are no track ids. Default 0.3.
   */
  constructor(
    private readonly smoothing: number,
    private readonly minIou = 0.3,
  ) {}

  /** The smoothed boxes for a new result. */
  update(detections: readonly DrawnDetection[]): DrawnDetection[] {
    if (this.smoothing <= 0) return (this.previous = [...detections]);
    const free = new Set(this.previous);
    const k = this.smoothing;
    const next = detections.map((d) => {
      const prev = this.match(d, free);
      if (!prev) return d;
      free.delete(prev);
      const box = d.box.map((v, i) => k * prev.box[i]! + (1 - k) * v) as Box;
      return { ...d, box };
    });
    this.previous = next;
    return next;
  }

  /** Forget the boxes (the stream or the queries changed, or nothing was seen for a while). */
  reset(): void {
    this.previous = [];
  }

  private match(d: DrawnDetection, free: ReadonlySet<DrawnDetection>): DrawnDetection | undefined {
    let best: DrawnDetection | undefined;
    let bestIou = this.minIou;
    for (const p of free) {
      if (d.trackId !== undefined && p.trackId !== undefined) {
        if (d.trackId === p.trackId) return p;
        continue;
      }
      if (p.query !== d.query) continue;
      const o = iou(p.box, d.box);
      if (o >= bestIou) {
        best = p;
        bestIou = o;
      }
    }
    return best;
  }
}
