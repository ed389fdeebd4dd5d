/**
 * Scores results a live run produced (a recording's `detections` messages) against a clip's
 * truth, instead of running the model. Only frames that have a result are scored, each once.
 */
import type { Detection } from '../domain/types.js';
import { Scorer, type Scores } from './average-precision.js';
import { checkTruthSize, truthByIndex, type Truth } from './shapes-world.js';

/** What scoring needs of one result: which frame, and what was found on it. */
export interface FrameResult {
  readonly frame: { readonly seq: number; readonly width?: number; readonly height?: number };
  readonly detections: readonly Detection[];
}

export interface SessionEvaluation extends Scores {
  /** Results given, and results that found no truth frame or repeated a frame already scored. */
  results: number;
  unscored: number;
}

export interface EvaluateSessionOptions {
  readonly queries: readonly string[];
  /** Operating threshold for false positives and recall. */
  readonly threshold: number;
  /** Add the frames to this scorer too (overall scores over several sessions). */
  readonly scorer?: Scorer;
}

/**
 * Frame `seq` is scored against the truth frame whose `index` is `seq` modulo the clip's length
 * (its highest index + 1): a looping file source keeps counting seq across laps, and every lap is
 * the same clip. Frames the truth does not annotate are not scored.
 */
export function evaluateSession(results: Iterable<FrameResult>, truth: Truth, opts: EvaluateSessionOptions): SessionEvaluation {
  const scorer = new Scorer(opts.queries, opts.threshold);
  const frames = truthByIndex(truth);
  const n = frames.length;
  const seen = new Set<number>();
  let total = 0;
  let unscored = 0;
  for (const r of results) {
    if (total === 0 && r.frame.width !== undefined && r.frame.height !== undefined) checkTruthSize(truth, r.frame.width, r.frame.height, 'the recorded stream');
    total++;
    const objects = n ? frames.get(r.frame.seq % n)?.objects : undefined;
    if (!objects || seen.has(r.frame.seq)) {
      unscored++;
      continue;
    }
    seen.add(r.frame.seq);
    scorer.addFrame(objects, r.detections);
    opts.scorer?.addFrame(objects, r.detections);
  }
  return { ...scorer.result(), results: total, unscored };
}
