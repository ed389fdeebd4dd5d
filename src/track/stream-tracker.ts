/**
 * All the tracks of one stream: one ByteTracker a query, one ID space, so a track ID names one
 * object under one query and is never reused within the stream. Fed the detections of each
 * processed frame with its pts (seconds).
 */
import type { Box, Detection } from '../domain/types.js';
import { ByteTracker } from './byte-tracker.js';
import { lowFloor, trackerConfig, type TrackerConfig, type TrackerOptions } from './config.js';

/** A detection as tracked: the ID once its track is confirmed, and the track's smoothed values. */
export interface TrackedDetection extends Detection {
  readonly smoothed?: { readonly box: Box; readonly score: number };
}

export interface StreamTrackUpdate {
  /** The input detections in input order, with `trackId` and `smoothed` where a track took them. */
  detections: TrackedDetection[];
  /** Confirmed track IDs dropped in this update (expired, query gone, or stream restarted), ascending. */
  lost: number[];
}

/** pts going back by more than this (seconds) means the source restarted: every track is dropped. */
const RESTART_SECONDS = 0.5;

export class StreamTracker {
  readonly config: TrackerConfig;
  private readonly byQuery = new Map<string, ByteTracker>();
  private lastId = 0;
  private lastPts = -Infinity;

  constructor(options: TrackerOptions = {}) {
    this.config = trackerConfig(options);
  }

  /** Thresholds to ask the model for: each query's reporting threshold lowered to the low-pass floor. */
  detectThresholds(thresholds: Readonly<Record<string, number>>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [q, t] of Object.entries(thresholds)) out[q] = lowFloor(this.config, t);
    return out;
  }

  /**
   * One processed frame. `thresholds` names the queries the frame was run for, each with its
   * reporting threshold (the tracker's high threshold unless the config fixes one); trackers of
   * queries no longer named are dropped.
   */
  update(detections: readonly Detection[], pts: number, thresholds: Readonly<Record<string, number>>): StreamTrackUpdate {
    const lost: number[] = [];
    if (pts < this.lastPts - RESTART_SECONDS) lost.push(...this.clear());
    this.lastPts = Math.max(this.lastPts, pts);
    for (const [q, tr] of this.byQuery) {
      if (q in thresholds) continue;
      lost.push(...tr.clear());
      this.byQuery.delete(q);
    }
    const byQuery = new Map<string, number[]>();
    detections.forEach((d, i) => {
      const list = byQuery.get(d.query);
      if (list) list.push(i);
      else byQuery.set(d.query, [i]);
    });
    const out: TrackedDetection[] = [...detections];
    for (const [q, high] of Object.entries(thresholds)) {
      let tr = this.byQuery.get(q);
      if (!tr) this.byQuery.set(q, (tr = new ByteTracker(this.config, () => ++this.lastId)));
      const idx = byQuery.get(q) ?? [];
      const r = tr.update(
        idx.map((i) => detections[i]!),
        pts,
        this.config.highThreshold ?? high,
      );
      lost.push(...r.lost);
      r.matches.forEach((m, k) => {
        if (!m) return;
        const i = idx[k]!;
        out[i] = { ...detections[i]!, ...(m.trackId !== null ? { trackId: m.trackId } : {}), smoothed: m.smoothed };
      });
    }
    return { detections: out, lost: lost.sort((a, b) => a - b) };
  }

  /** Drops every track; returns the confirmed IDs. IDs are not reused afterwards. */
  clear(): number[] {
    const ids = [...this.byQuery.values()].flatMap((t) => t.clear());
    this.byQuery.clear();
    this.lastPts = -Infinity;
    return ids.sort((a, b) => a - b);
  }

  /** Tracks kept now (tentative ones included), all queries together. */
  get size(): number {
    let n = 0;
    for (const t of this.byQuery.values()) n += t.size;
    return n;
  }
}
