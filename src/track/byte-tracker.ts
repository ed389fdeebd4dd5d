/**
 * ByteTrack-style tracking of one query's detections (Zhang et al., 2022): every track's box is
 * predicted to the frame's time, then
 *   1. confirmed tracks (seen last frame, or missing for less than `lostSeconds`) take the high
 *      detections, by IoU;
 *   2. confirmed tracks seen last frame and still unpaired take the low detections (an occluded or
 *      blurred object scores lower, and this keeps its ID through that);
 *   3. confirmed tracks still unpaired take high detections left near where they should be, by
 *      centre distance with a gate that grows with the time unseen (objects turn while frames are
 *      dropped, and IoU alone loses small fast ones);
 *   4. tentative tracks take the high detections left; a tentative track that misses a frame is
 *      dropped, one with `confirmHits` hits gets an ID;
 *   5. high detections still left start tentative tracks.
 * Lost-track expiry counts seconds of pts, not frames, because frames are dropped under load.
 */
import { area } from '../domain/geometry.js';
import type { Box, Detection } from '../domain/types.js';
import { assign, associate } from './associate.js';
import { lowFloor, type TrackerConfig } from './config.js';
import { BoxMotion } from './motion.js';
import { BoxSmoother } from './smoother.js';

/** What the tracker made of one input detection. */
export interface TrackMatch {
  /** Null while the track is tentative. */
  trackId: number | null;
  /** The track's smoothed box and score, this frame included. */
  smoothed: { box: Box; score: number };
}

export interface QueryTrackUpdate {
  /** One entry per input detection, in input order; null for a detection no track took (below
   * the low threshold, a low one no track wanted, or beyond `maxDetections`). */
  matches: (TrackMatch | null)[];
  /** IDs of confirmed tracks dropped in this update, ascending. */
  lost: number[];
}

/** Indices of the `max` best-scoring detections, in input order (all of them when there are few). */
function best(detections: readonly Detection[], max: number): number[] {
  const all = detections.map((_, i) => i);
  if (all.length <= max) return all;
  return all
    .sort((a, b) => detections[b]!.score - detections[a]!.score)
    .slice(0, max)
    .sort((a, b) => a - b);
}

/** Recovery gate at zero gap, in sizes: detector jitter on a small box. */
const RECOVER_BASE = 0.5;

interface Track {
  id: number | null;
  motion: BoxMotion;
  smoother: BoxSmoother;
  hits: number;
  /** pts of the last detection it took. */
  lastSeen: number;
  /** Took a detection in the current (after update: last) processed frame. */
  fresh: boolean;
  /** Took one in the frame before the current one. */
  wasFresh: boolean;
}

export class ByteTracker {
  private tracks: Track[] = [];

  /** `nextId` hands out IDs, so several trackers (one a query) can share one ID space. */
  constructor(
    private readonly config: TrackerConfig,
    private readonly nextId: () => number,
  ) {}

  /** Tracks kept now, tentative ones included. */
  get size(): number {
    return this.tracks.length;
  }

  /**
   * Takes one processed frame's detections of this query at time `t` (seconds, pts) and the high
   * threshold to split them by (the low one is lowFloor's).
   */
  update(detections: readonly Detection[], t: number, high: number): QueryTrackUpdate {
    if (!detections.length && !this.tracks.length) return { matches: [], lost: [] };
    const c = this.config;
    const low = lowFloor(c, high);
    for (const tr of this.tracks) tr.motion.predict(t);
    const matches: (TrackMatch | null)[] = detections.map(() => null);
    const hi: number[] = [];
    const lo: number[] = [];
    for (const i of best(detections, c.maxDetections)) {
      const d = detections[i]!;
      if (d.score >= high) hi.push(i);
      else if (d.score >= low) lo.push(i);
    }

    const take = (tr: Track, i: number) => {
      const d = detections[i]!;
      tr.motion.update(d.box);
      tr.smoother.update(d.box, d.score, t);
      tr.hits++;
      tr.lastSeen = t;
      tr.fresh = true;
      if (tr.id === null && tr.hits >= c.confirmHits) tr.id = this.nextId();
      matches[i] = { trackId: tr.id, smoothed: { box: tr.smoother.box(), score: tr.smoother.score() } };
    };
    const pass = (pool: Track[], dets: number[], minIou: number): { tracks: Track[]; dets: number[] } => {
      const a = associate(
        pool.map((tr) => tr.motion.box()),
        dets.map((i) => detections[i]!.box),
        minIou,
      );
      for (const [r, k] of a.pairs) take(pool[r]!, dets[k]!);
      return { tracks: a.rows.map((r) => pool[r]!), dets: a.cols.map((k) => dets[k]!) };
    };

    // Tracks unseen for longer than lostSeconds are gone before anything is matched: after a gap
    // (nobody watched, or frames came slowly) a track must not take a new object as its own.
    const lost: number[] = [];
    this.tracks = this.tracks.filter((tr) => {
      if (t - tr.lastSeen <= c.lostSeconds) return true;
      if (tr.id !== null) lost.push(tr.id);
      return false;
    });
    for (const tr of this.tracks) {
      tr.wasFresh = tr.fresh;
      tr.fresh = false;
    }
    const confirmed = this.tracks.filter((tr) => tr.id !== null);
    const tentative = this.tracks.filter((tr) => tr.id === null);

    const first = pass(confirmed, hi, c.matchIou);
    pass(first.tracks.filter((tr) => tr.wasFresh), lo, c.lowMatchIou);
    const left = c.recoverDistance > 0 ? this.recover(first.tracks.filter((tr) => !tr.fresh), first.dets, detections, t, take) : first.dets;
    const third = pass(tentative, left, c.tentativeMatchIou);

    const kept: Track[] = [];
    for (const tr of this.tracks) {
      if (tr.fresh) kept.push(tr);
      else if (tr.id === null) continue; // a tentative track must be seen in consecutive frames
      else if (t - tr.lastSeen > c.lostSeconds) lost.push(tr.id);
      else kept.push(tr);
    }
    for (const i of third.dets) {
      const d = detections[i]!;
      const tr: Track = {
        id: null,
        motion: new BoxMotion(d.box, t, c.motion),
        smoother: new BoxSmoother(d.box, d.score, t, c.smoothing),
        hits: 1,
        lastSeen: t,
        fresh: true,
        wasFresh: false,
      };
      if (c.confirmHits <= 1) tr.id = this.nextId();
      matches[i] = { trackId: tr.id, smoothed: { box: [...d.box], score: d.score } };
      kept.push(tr);
    }
    if (kept.length > 2 * c.maxDetections) {
      // too many: drop the longest-unseen (a fresh track is never dropped; there are at most
      // maxDetections of those)
      kept.sort((a, b) => b.lastSeen - a.lastSeen);
      for (const tr of kept.splice(2 * c.maxDetections)) if (tr.id !== null) lost.push(tr.id);
    }
    this.tracks = kept;
    return { matches, lost: lost.sort((a, b) => a - b) };
  }

  /** Step 3 (see the file comment); returns the detections left. */
  private recover(pool: Track[], dets: number[], detections: readonly Detection[], t: number, take: (tr: Track, i: number) => void): number[] {
    if (!pool.length || !dets.length) return dets;
    const n = pool.length;
    const m = dets.length;
    const cost = new Float64Array(n * m).fill(Infinity);
    pool.forEach((tr, r) => {
      const p = tr.motion.box();
      const pa = area(p);
      const size = Math.sqrt(pa);
      // (t - lastSeen is at most lostSeconds here: older tracks were dropped first)
      const gate = RECOVER_BASE + this.config.recoverDistance * (t - tr.lastSeen);
      dets.forEach((i, k) => {
        const b = detections[i]!.box;
        const ratio = area(b) / pa;
        if (!(ratio >= 0.5 && ratio <= 2)) return;
        const d = Math.hypot((b[0] + b[2] - p[0] - p[2]) / 2, (b[1] + b[3] - p[1] - p[3]) / 2) / size;
        if (d <= gate) cost[r * m + k] = d / gate;
      });
    });
    // cost: distance as a share of the gate, so the margin (1 - cost) favours the nearest
    const a = assign(cost, n, m, 1);
    for (const [r, k] of a.pairs) take(pool[r]!, dets[k]!);
    return a.cols.map((k) => dets[k]!);
  }

  /** Drops every track; returns the IDs of the confirmed ones, ascending. */
  clear(): number[] {
    const ids = this.tracks.flatMap((tr) => (tr.id === null ? [] : [tr.id]));
    this.tracks = [];
    return ids.sort((a, b) => a - b);
  }
}
