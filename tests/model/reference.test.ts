/**
 * Our runtime against an independent reference: transformers.js's zero-shot-object-detection
 * pipeline on the same model folder (local files only) and the same images. Agreement here is the
 * evidence that a real OWL-ViT export, which transformers.js runs, would work through our path too.
 *
 * Tolerance: scores within 0.03 and box corners within 3 px. transformers.js decodes and resizes
 * with its own code (bicubic), we use sharp's cubic kernel; the small pixel differences move
 * logits slightly. transformers.js also rounds box corners to whole pixels and does not clip them.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iou } from '../../src/domain/geometry.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { stills } from '../helpers/fixtures.js';

const SCORE_TOL = 0.03;
const BOX_TOL = 3;
const THRESHOLD = 0.1;

describe('reference check against transformers.js', () => {
  let ours: GroundingModel;
  let theirs: (image: string, labels: string[], o: object) => Promise<{ score: number; label: string; box: { xmin: number; ymin: number; xmax: number; ymax: number } }[]>;

  beforeAll(async () => {
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = false;
    tjs.env.localModelPath = `${dirname(BUNDLED_MODEL_DIR)}/`;
    theirs = (await tjs.pipeline('zero-shot-object-detection', 'shapes-owl', { dtype: 'fp32', device: 'cpu' })) as never;
    ours = await loadModel(BUNDLED_MODEL_DIR, { forceCombined: true });
  });
  afterAll(() => ours?.close());

  it('finds the same boxes with the same scores on every fixture still', async () => {
    let compared = 0;
    const worst = { score: 0, box: 0 };
    for (const { path, truth } of stills()) {
      const labels = [...new Set(truth.frames[0]!.objects.map((o) => `${o.color} ${o.shape}`)), 'circle', 'red object', 'dog'];
      const ref = await theirs(path, labels, { threshold: THRESHOLD, percentage: false });
      const mine = (await ours.detect(readFileSync(path), labels, { threshold: THRESHOLD, nmsIou: null })).detections;
      // Near the threshold a box may fall on either side of it: compare those above it by a margin.
      const clear = (s: number) => s >= THRESHOLD + SCORE_TOL;
      expect(mine.filter((d) => clear(d.score)).length).toBe(ref.filter((d) => clear(d.score)).length);
      for (const r of ref.filter((d) => clear(d.score))) {
        const rb: [number, number, number, number] = [r.box.xmin, r.box.ymin, r.box.xmax, r.box.ymax];
        const m = mine.filter((d) => d.query === r.label).sort((a, b) => iou(b.box, rb) - iou(a.box, rb))[0];
        expect(m, `${path}: ${r.label} ${r.score}`).toBeDefined();
        worst.score = Math.max(worst.score, Math.abs(m!.score - r.score));
        const clipped = rb.map((v, i) => Math.min(Math.max(v, 0), i % 2 ? truth.height : truth.width));
        worst.box = Math.max(worst.box, ...m!.box.map((v, i) => Math.abs(v - clipped[i]!)));
        compared++;
      }
    }
    console.log(`compared ${compared} detections; worst score diff ${worst.score.toFixed(4)}, worst box diff ${worst.box.toFixed(2)} px`);
    expect(compared).toBeGreaterThan(5);
    expect(worst.score).toBeLessThanOrEqual(SCORE_TOL);
    expect(worst.box).toBeLessThanOrEqual(BOX_TOL);
  });
});
