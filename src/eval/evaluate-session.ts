/**
 * Scores results a live run produced (a recording's `detections` messages) against a clip's
 * truth, instead of running the model. Only frames that have a result are scored, each once.
 */
import type { Detection } from '../domain/types.js';
import { GroundstreamError } from '../errors.js';
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
  /** The clip's length in decoded frames (counted from the clip), for results past the truth's
   * highest index. Default: the truth's `frameCount`. */
  readonly frameCount?: number;
}

/**
 * The truth frame index of each `seq`. Below the truth's highest annotated index + 1 it is `seq`
 * itself: a file source counts decoded frames from 0. Past it, only a looping source can have
 * produced it, and the lap length must be known for sure: the highest index says nothing of
 * frames the truth leaves out (a truth of the first 45 of 90 frames would score frames 45-89
 * against 0-44). Without a known length such results are refused, not wrapped on a guess.
 */
export function frameIndexer(annotated: number, frameCount: number | undefined, highestSeq: number): (seq: number) => number {
  if (frameCount !== undefined) {
    if (!(Number.isInteger(frameCount) && frameCount > 0)) throw new GroundstreamError('CONFIG_INVALID', `the clip's frame count must be a positive integer, got ${frameCount}`);
    if (frameCount < annotated) throw new GroundstreamError('CONFIG_INVALID', `the truth annotates frame ${annotated - 1}, but the clip has ${frameCount} frames: is it this clip's truth?`);
    return (seq) => seq % frameCount;
  }
  if (highestSeq >= annotated) {
    throw new GroundstreamError(
      'CONFIG_INVALID',
      `the recording has frames up to ${highestSeq} (a looping source), but the truth annotates frames up to ${annotated - 1} only and the clip's length is unknown, so the frames cannot be matched: add "frameCount" to the truth, or make the recorded clip readable here`,
    );
  }
  return (seq) => seq;
}

/**
 * Frame `seq` is scored against the truth frame whose `index` is `seq` modulo the clip's length
 * (frameIndexer): a looping file source keeps counting seq across laps, and every lap is the same
 * clip. Frames the truth does not annotate are not scored. Throws CONFIG_INVALID when results go
 * past the truth's highest index and the clip's length is not known.
 */
export function evaluateSession(given: Iterable<FrameResult>, truth: Truth, opts: EvaluateSessionOptions): SessionEvaluation {
  const results = [...given];
  const scorer = new Scorer(opts.queries, opts.threshold);
  const frames = truthByIndex(truth);
  // (a truth of another clip is said as such first: its frames would not match either)
  const first = results[0]?.frame;
  if (first?.width !== undefined && first.height !== undefined) checkTruthSize(truth, first.width, first.height, 'the recorded stream');
  const highestSeq = results.reduce((m, r) => Math.max(m, r.frame.seq), -1);
  const index = frameIndexer(frames.length, opts.frameCount ?? truth.frameCount, highestSeq);
  const seen = new Set<number>();
  let total = 0;
  let unscored = 0;
  for (const r of results) {
    total++;
    const objects = frames.get(index(r.frame.seq))?.objects;
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
