/**
 * One subscriber's view of a stream's tracks. It remembers which track IDs it has handed out, so
 * `track: 'new'` means new to this subscriber (one with a higher threshold meets a track later
 * than one with a lower), and reports as lost only IDs this subscriber was told about. With
 * `smooth` it hands out each track's smoothed box and score instead of the raw ones.
 */
import type { Detection } from '../domain/types.js';
import type { TrackedDetection } from './stream-tracker.js';

export class TrackView {
  /** IDs handed out and not yet reported lost, with the query each was for. */
  private readonly seen = new Map<number, string>();

  /** `smooth`: report smoothed boxes and scores (default false: raw, as the model saw them). */
  constructor(public smooth = false) {}

  /**
   * `detections`: this subscriber's share of a result (already filtered by its queries and
   * threshold on the raw score); `lost`: the stream's lost IDs for the same result; `queries`:
   * the subscriber's queries for this result. IDs it was shown for a query it no longer has are
   * reported lost here, whether or not their tracks live on for other subscribers.
   */
  apply(
    detections: readonly TrackedDetection[],
    lost: readonly number[],
    shared?: Map<string, { detections: Detection[]; lost: number[] }>,
    queries?: ReadonlySet<string>,
  ): { detections: Detection[]; lost: number[] } {
    // What this subscriber has seen decides each detection's mark; subscribers who saw the same
    // (and pass the same `shared` map: one per input array) get the same output, built once.
    let marks = '';
    for (const d of detections) {
      if (d.trackId === undefined) marks += '-';
      else if (this.seen.has(d.trackId)) marks += 'u';
      else {
        this.seen.set(d.trackId, d.query);
        marks += 'n';
      }
    }
    const gone: number[] = [];
    for (const id of lost) if (this.seen.delete(id)) gone.push(id);
    if (queries) {
      for (const [id, q] of this.seen) {
        if (queries.has(q)) continue;
        this.seen.delete(id);
        gone.push(id);
      }
      gone.sort((a, b) => a - b);
    }
    const key = shared ? `${this.smooth ? 's' : 'r'}${marks}|${gone.join(',')}` : '';
    const hit = shared?.get(key);
    if (hit) return hit;
    const out = detections.map((d, i): Detection => {
      const { smoothed, ...raw } = d;
      const base = this.smooth && smoothed ? { ...raw, box: [...smoothed.box] as Detection['box'], score: clamp01(smoothed.score) } : raw;
      return marks[i] === '-' ? base : { ...base, track: marks[i] === 'n' ? 'new' : 'updated' };
    });
    const result = { detections: out, lost: gone };
    shared?.set(key, result);
    return result;
  }

  /** A view with the same history (what this one has handed out), for a subscriber that goes its
   * own way from here. */
  clone(): TrackView {
    const v = new TrackView(this.smooth);
    for (const [id, q] of this.seen) v.seen.set(id, q);
    return v;
  }

  /** The same for views that will mark every later result alike (same IDs handed out, not lost);
   * their `smooth` aside. */
  fingerprint(): string {
    return [...this.seen.keys()].sort((a, b) => a - b).join(',');
  }

  /** IDs handed out and not yet reported lost. */
  get known(): number {
    return this.seen.size;
  }
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
