/** Runs a model on every frame of a clip and scores it against the clip's truth. */
import { GroundstreamError } from '../errors.js';
import type { GroundingModel } from '../model/index.js';
import { Scorer, type Scores } from './average-precision.js';
import { clipFrames } from './clip-frames.js';
import { checkTruthSize, truthByIndex, type Truth } from './shapes-world.js';

export interface ClipEvaluation extends Scores {
  framesPerSecond: number;
  /** Frames the clip decoded to, and frames that had truth. */
  decodedFrames: number;
}

export interface EvaluateOptions {
  queries: readonly string[];
  /** Operating threshold for false positives and recall (default: the model's). */
  threshold?: number;
  onFrame?: (done: number, total: number) => void;
  /** Add more clips' frames to the same scorer (overall scores). */
  scorer?: Scorer;
}

export async function evaluateClip(model: GroundingModel, path: string, truth: Truth, opts: EvaluateOptions): Promise<ClipEvaluation> {
  const threshold = opts.threshold ?? model.info.threshold;
  const scorer = new Scorer(opts.queries, threshold);
  const queries = await model.prepareQueries(opts.queries);
  // Score down to a low floor so that AP sees the whole precision-recall curve.
  const floor = Math.min(0.05, threshold);
  const size = { width: model.info.imageSize, height: model.info.imageSize, fit: model.info.family === 'owlv2' ? ('inside' as const) : ('stretch' as const) };
  const frames = truthByIndex(truth);
  let n = 0;
  let modelMs = 0;
  for await (const f of clipFrames(path, size)) {
    if (n === 0) checkTruthSize(truth, f.sourceWidth ?? f.width, f.sourceHeight ?? f.height, path);
    const t0 = performance.now();
    const r = await model.detect(
      { data: f.data, width: f.width, height: f.height, sourceWidth: f.sourceWidth, sourceHeight: f.sourceHeight },
      queries,
      { threshold: floor },
    );
    modelMs += performance.now() - t0;
    const objects = frames.get(f.seq)?.objects;
    if (objects) {
      scorer.addFrame(objects, r.detections);
      opts.scorer?.addFrame(objects, r.detections);
    }
    n++;
    opts.onFrame?.(n, frames.length);
  }
  if (n < frames.length) {
    throw new GroundstreamError('CONFIG_INVALID', `the truth annotates frame ${frames.length - 1}, but ${path} has ${n} frames: is it this clip's truth?`);
  }
  // a frameCount that is not the clip's would misplace every lap of a looping recording (eval --session)
  if (truth.frameCount !== undefined && truth.frameCount !== n) {
    throw new GroundstreamError('CONFIG_INVALID', `the truth says the clip has ${truth.frameCount} frames ("frameCount"), but ${path} has ${n}: is it this clip's truth?`);
  }
  return { ...scorer.result(), framesPerSecond: n / (modelMs / 1000), decodedFrames: n };
}

