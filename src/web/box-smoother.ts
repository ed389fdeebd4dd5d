/**
 * Box smoothing for the overlay: each new box moves only part of the way from the box it
 * continues, which calms the frame-to-frame jitter of a detector. A box continues the previous
 * result's box with the same track id when detections carry one (`trackId`),
 * else the same query's box it overlaps most (IoU >= minIou). Pure; state lives in the instance.
 *
 * Smoothing is per unit of time, not per result: `smoothing` is the share of the old box kept over
 * one reference interval (1/30 s), so a box kept smoothing^(dt / 33.3 ms) after dt. At 30 results a
 * second that is `smoothing` at each; at maxRate=5 (dt 200 ms) 0.3 keeps 0.07% of the old box,
 * where per result it kept 30% of a box 200 ms old and the boxes trailed moving objects.
 */
import type { Box, Detection } from '../client/index.js';

/** A detection as the pages draw it (`trackId` is set once the server tracks it). */
export type DrawnDetection = Detection;

/** When a result's frame was captured: `capturedAt` in ms since the epoch, `pts` in seconds. */
export interface FrameTime {
  readonly capturedAt?: number;
  readonly pts?: number;
}

/** The interval `smoothing` is defined over: one result at 30 a second, in ms. */
export const REFERENCE_INTERVAL_MS = 1000 / 30;
/** Shortest interval counted, ms (the server's highest maxRate, 120 a second): a bogus or repeated
 * capture time must not freeze a box. Longer ones are not capped: after a long gap the old box is
 * worth nothing, which the weight says by itself. */
const MIN_INTERVAL_MS = 1000 / 120;

export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Time from one result's frame to the next, ms: by capture time, else by pts (a source whose
 * clock jumped), else one reference interval (no times, or time ran backwards: a looped replay, a
 * restarted server); at least MIN_INTERVAL_MS.
 */
export function frameInterval(prev: FrameTime | undefined, next: FrameTime | undefined): number {
  const positive = (d: number | undefined) => (d !== undefined && Number.isFinite(d) && d > 0 ? d : undefined);
  const byCapture = positive(prev?.capturedAt !== undefined && next?.capturedAt !== undefined ? next.capturedAt - prev.capturedAt : undefined);
  const byPts = positive(prev?.pts !== undefined && next?.pts !== undefined ? (next.pts - prev.pts) * 1000 : undefined);
  return Math.max(MIN_INTERVAL_MS, byCapture ?? byPts ?? REFERENCE_INTERVAL_MS);
}

/** The share of the old box kept after `dtMs`, for `smoothing` per reference interval. */
export function smoothingWeight(smoothing: number, dtMs: number): number {
  return smoothing <= 0 ? 0 : smoothing ** (dtMs / REFERENCE_INTERVAL_MS);
}

export class BoxSmoother {
  private previous: DrawnDetection[] = [];
  private previousTime: FrameTime | undefined;

  /**
   * `smoothing` in [0, 1): the share of the old box a new one keeps after 1/30 s (0: off).
   * `minIou`: least overlap for a box to continue another when there are no track ids. Default 0.3.
   */
  constructor(
    private readonly smoothing: number,
    private readonly minIou = 0.3,
  ) {}

  /** The smoothed boxes for a new result; `time`: its frame's (without it, one reference interval
   * after the previous result). */
  update(detections: readonly DrawnDetection[], time?: FrameTime): DrawnDetection[] {
    const dt = frameInterval(this.previousTime, time);
    this.previousTime = time;
    if (this.smoothing <= 0) return (this.previous = [...detections]);
    const free = new Set(this.previous);
    const k = smoothingWeight(this.smoothing, dt);
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
    this.previousTime = undefined;
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
