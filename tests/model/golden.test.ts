/**
 * Regression: the bundled model on the fixture clips reproduces its committed scores
 * (models/shapes-owl/fixture-scores.json, written by `npm run golden:update`). Real ffmpeg decodes
 * every frame, real onnxruntime runs the model, SHAPES_WORLD.md's scoring scores it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scorer } from '../../src/eval/average-precision.js';
import { evaluateClip } from '../../src/eval/evaluate-clip.js';
import { scoringQueries } from '../../src/eval/shapes-world.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { clips } from '../helpers/fixtures.js';

// Decoding differs a little between ffmpeg builds (the bundled 4.1 and Debian's 5.1 scale frames
// with slightly different rounding), which moves a few scores near the threshold.
const TOL = 0.02;

describe('golden scores of the bundled model on the fixtures', () => {
  let model: GroundingModel;
  const golden = JSON.parse(readFileSync(join(BUNDLED_MODEL_DIR, 'fixture-scores.json'), 'utf8'));
  beforeAll(async () => {
    model = await loadModel(BUNDLED_MODEL_DIR);
  });
  afterAll(() => model?.close());

  it('reproduces mAP50, held-out mAP50, absent-query false positives and recall', async () => {
    const queries = scoringQueries();
    const overall = new Scorer(queries, model.info.threshold);
    for (const c of clips()) {
      const r = await evaluateClip(model, c.path, c.truth, { queries, scorer: overall });
      const g = golden.clips[Object.keys(golden.clips).find((k) => k.endsWith(c.path.split('/').pop()!))!];
      expect(r.decodedFrames, c.path).toBe(c.truth.frames.length);
      expect(Math.abs(r.mAP50! - g.mAP50), c.path).toBeLessThanOrEqual(TOL);
    }
    const o = overall.result();
    expect(Math.abs(o.mAP50! - golden.mAP50)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(o.heldOutMAP50! - golden.heldOutMAP50)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(o.absentFalsePositiveRate! - golden.absentFalsePositiveRate)).toBeLessThanOrEqual(TOL / 2);
    expect(Math.abs(o.recallAtThreshold! - golden.recallAtThreshold)).toBeLessThanOrEqual(TOL);
  });
});
