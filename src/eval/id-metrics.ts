/**
 * Identity metrics for tracking against ground truth, CLEAR-MOT style. Each frame, every truth
 * object is paired with a tracked box of its own query (IoU >= 0.5, the pairing with the most
 * total IoU); then per truth object:
 * - an ID switch is a paired track ID that differs from the one it was last paired with;
 * - a fragmentation is a resumption after one or more frames unpaired (the track was interrupted);
 * - extra IDs count distinct track IDs beyond the first.
 * Each truth object should keep one ID: 0 switches, 0 extra IDs. Rates are per 100 object-frames.
 */
import type { Box } from '../domain/types.js';
import { associate } from '../track/associate.js';

export interface TruthObject {
  /** Identity of the object across frames. */
  readonly id: string | number;
  /** The query it answers to (tracks are matched within a query). */
  readonly query: string;
  readonly box: Box;
}

export interface TrackedBox {
  readonly query: string;
  readonly trackId: number;
  readonly box: Box;
}

export interface IdMetrics {
  /** Truth objects summed over the frames scored. */
  objectFrames: number;
  /** Of those, paired with a tracked box. */
  matched: number;
  switches: number;
  fragmentations: number;
  extraIds: number;
  /** switches per 100 object-frames. */
  switchesPer100: number;
  fragmentationsPer100: number;
  /** matched / objectFrames. */
  coverage: number;
}

interface History {
  last: number | null;
  /** Unpaired since `last` was paired. */
  gap: boolean;
  ids: Set<number>;
}

export class IdMetricsCounter {
  private readonly objects = new Map<string | number, History>();
  private objectFrames = 0;
  private matched = 0;
  private switches = 0;
  private fragmentations = 0;

  constructor(private readonly minIou = 0.5) {}

  /** Scores one frame. */
  frame(truth: readonly TruthObject[], tracked: readonly TrackedBox[]): void {
    const queries = new Set(truth.map((t) => t.query));
    for (const q of queries) {
      const ts = truth.filter((t) => t.query === q);
      const ds = tracked.filter((d) => d.query === q);
      const a = associate(
        ts.map((t) => t.box),
        ds.map((d) => d.box),
        this.minIou,
      );
      const paired = new Map(a.pairs.map(([i, j]) => [i, ds[j]!.trackId]));
      ts.forEach((t, i) => {
        this.objectFrames++;
        let h = this.objects.get(t.id);
        if (!h) this.objects.set(t.id, (h = { last: null, gap: false, ids: new Set() }));
        const id = paired.get(i);
        if (id === undefined) {
          if (h.last !== null) h.gap = true;
          return;
        }
        this.matched++;
        if (h.last !== null && id !== h.last) this.switches++;
        if (h.gap) this.fragmentations++;
        h.last = id;
        h.gap = false;
        h.ids.add(id);
      });
    }
  }

  result(): IdMetrics {
    let extraIds = 0;
    for (const h of this.objects.values()) extraIds += Math.max(0, h.ids.size - 1);
    const per100 = (n: number) => (this.objectFrames ? (100 * n) / this.objectFrames : 0);
    return {
      objectFrames: this.objectFrames,
      matched: this.matched,
      switches: this.switches,
      fragmentations: this.fragmentations,
      extraIds,
      switchesPer100: per100(this.switches),
      fragmentationsPer100: per100(this.fragmentations),
      coverage: this.objectFrames ? this.matched / this.objectFrames : 0,
    };
  }
}
