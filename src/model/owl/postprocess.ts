/**
 * OWL post-processing on typed arrays (pure): sigmoid scores per (patch, query), a threshold per
 * query, multi-label (a patch may yield a box for several queries), cxcywh -> corners scaled to
 * source pixels and clipped (a box left with no area is dropped), then optional greedy NMS per query,
 * and at most `maxPerQuery` boxes a query.
 */
import { clipBox, nms } from '../../domain/geometry.js';
import type { Box, Detection } from '../../domain/types.js';

export interface DecodeInput {
  logits: Float32Array; // [1, P, Qpad] row-major
  boxes: Float32Array; // [1, P, 4] cx, cy, w, h normalised
  patches: number;
  /** Columns in `logits` (queries after padding). */
  stride: number;
  /** The real queries (first columns), normalised text. */
  queries: readonly string[];
  /** Threshold per real query, on probability in (0, 1). */
  thresholds: readonly number[];
  /** Multiply normalised coordinates by these (see boxScale). */
  sx: number;
  sy: number;
  /** Clip boxes to the source image. */
  width: number;
  height: number;
  /** IoU above which a lower-scoring box of the same query is dropped; null = no NMS. */
  nmsIou: number | null;
  /** The most boxes kept per query, the highest scoring (after NMS). Default: all. */
  maxPerQuery?: number;
}

const logit = (p: number) => Math.log(p / (1 - p));

export function decodeDetections(input: DecodeInput): Detection[] {
  const { logits, boxes, patches, stride, queries, thresholds, sx, sy, width, height, nmsIou, maxPerQuery = Infinity } = input;
  const q = queries.length;
  // Compare raw logits against logit(threshold): exp() runs only for boxes that are kept.
  const cut = thresholds.map((t) => (t <= 0 ? -Infinity : t >= 1 ? Infinity : logit(t)));
  const perQuery: Detection[][] = queries.map(() => []);
  for (let p = 0; p < patches; p++) {
    const row = p * stride;
    let box: Box | null = null;
    for (let j = 0; j < q; j++) {
      const l = logits[row + j]!;
      if (!(l >= cut[j]!)) continue;
      if (!box) {
        const cx = boxes[p * 4]!;
        const cy = boxes[p * 4 + 1]!;
        const hw = boxes[p * 4 + 2]! / 2;
        const hh = boxes[p * 4 + 3]! / 2;
        box = clipBox([(cx - hw) * sx, (cy - hh) * sy, (cx + hw) * sx, (cy + hh) * sy], width, height);
        // A box with no area inside the image is no detection: OWLv2 scales boxes to the padded
        // square, so one that lies wholly in the padding would clip to a line at full score.
        // (!(a < b) also drops NaN coordinates.)
        if (!(box[0] < box[2] && box[1] < box[3])) break;
      }
      perQuery[j]!.push({ query: queries[j]!, score: 1 / (1 + Math.exp(-l)), box: [...box] });
    }
  }
  const out: Detection[] = [];
  for (const dets of perQuery) {
    const kept = nmsIou === null ? dets.sort((a, b) => b.score - a.score).slice(0, maxPerQuery) : nms(dets, nmsIou, maxPerQuery);
    for (const d of kept) out.push(d);
  }
  return out;
}
