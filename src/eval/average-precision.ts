/**
 * Detection scoring as SHAPES_WORLD.md defines it: per-query AP at IoU 0.5 over all frames of a
 * clip (all-point interpolation, as Pascal VOC 2010+), mAP50 over queries that have truth,
 * held-out pairs apart, and at the operating threshold the absent-query false-positive rate and
 * the recall (each object found by at most one box, matched as for AP: best score first).
 */
import { iou } from '../domain/geometry.js';
import type { Box, Detection } from '../domain/types.js';
import { HELD_OUT, matches, parseWorldQuery, type TruthObject, type WorldQuery } from './shapes-world.js';

/** All-point interpolated AP from (score, true positive?) pairs and the number of truths; null without truth. */
export function averagePrecision(scored: readonly { score: number; tp: boolean }[], nTruth: number): number | null {
  if (nTruth === 0) return null;
  const s = [...scored].sort((a, b) => b.score - a.score);
  const recall: number[] = [];
  const precision: number[] = [];
  let tp = 0;
  s.forEach((x, i) => {
    if (x.tp) tp++;
    recall.push(tp / nTruth);
    precision.push(tp / (i + 1));
  });
  // precision envelope, from the right
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i]!, precision[i + 1]!);
  let ap = 0;
  let prev = 0;
  recall.forEach((r, i) => {
    if (r > prev) {
      ap += (r - prev) * precision[i]!;
      prev = r;
    }
  });
  return ap;
}

export interface Scores {
  mAP50: number | null;
  seenMAP50: number | null;
  heldOutMAP50: number | null;
  absentFalsePositiveRate: number | null;
  recallAtThreshold: number | null;
  perQuery: Record<string, number | null>;
  frames: number;
}

/** Accumulates frames (truth + detections), then reports Scores. */
export class Scorer {
  private readonly queries: WorldQuery[];
  private readonly scored = new Map<string, { score: number; tp: boolean }[]>();
  private readonly nTruth = new Map<string, number>();
  private absentPairs = 0;
  private absentFp = 0;
  private truthTotal = 0;
  private truthFound = 0;
  private frames = 0;

  /** `threshold`: the operating threshold for false positives and recall. */
  constructor(queries: readonly string[], private readonly threshold: number) {
    this.queries = queries.map(parseWorldQuery);
    for (const q of queries) {
      this.scored.set(q, []);
      this.nTruth.set(q, 0);
    }
  }

  addFrame(objects: readonly TruthObject[], detections: readonly Detection[]): void {
    this.frames++;
    for (const q of this.queries) {
      const truth = objects.filter((o) => matches(q, o)).map((o) => o.box as Box);
      this.nTruth.set(q.text, this.nTruth.get(q.text)! + truth.length);
      const dets = detections.filter((d) => d.query === q.text).sort((a, b) => b.score - a.score);
      const used = truth.map(() => false);
      const list = this.scored.get(q.text)!;
      let foundAbove = 0; // truths matched, one box each, by boxes at or above the threshold
      for (const d of dets) {
        let best = 0.5;
        let bi = -1;
        truth.forEach((t, i) => {
          const v = iou(d.box, t);
          if (!used[i] && v >= best) {
            best = v;
            bi = i;
          }
        });
        if (bi >= 0) {
          used[bi] = true;
          // boxes come best first, so those above the threshold are matched before any below it
          if (d.score >= this.threshold) foundAbove++;
        }
        list.push({ score: d.score, tp: bi >= 0 });
      }
      if (truth.length === 0) {
        this.absentPairs++;
        if (dets.some((d) => d.score >= this.threshold)) this.absentFp++;
      } else {
        // recall with the AP's own one-to-one matching: one box cannot find two overlapping objects
        this.truthTotal += truth.length;
        this.truthFound += foundAbove;
      }
    }
  }

  result(): Scores {
    const perQuery: Record<string, number | null> = {};
    for (const q of this.queries) perQuery[q.text] = averagePrecision(this.scored.get(q.text)!, this.nTruth.get(q.text)!);
    const mean = (xs: (number | null)[]) => {
      const v = xs.filter((x): x is number => x !== null);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    const held = new Set<string>(HELD_OUT);
    return {
      mAP50: mean(Object.values(perQuery)),
      seenMAP50: mean(Object.entries(perQuery).filter(([k]) => !held.has(k)).map(([, v]) => v)),
      heldOutMAP50: mean(Object.entries(perQuery).filter(([k]) => held.has(k)).map(([, v]) => v)),
      absentFalsePositiveRate: this.absentPairs ? this.absentFp / this.absentPairs : null,
      recallAtThreshold: this.truthTotal ? this.truthFound / this.truthTotal : null,
      perQuery,
      frames: this.frames,
    };
  }
}
