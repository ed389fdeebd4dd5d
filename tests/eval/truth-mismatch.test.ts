/** A truth file made for another clip must be refused, not scored to 0 in silence (real model, real ffmpeg). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateClip } from '../../src/eval/evaluate-clip.js';
import { evaluateSession } from '../../src/eval/evaluate-session.js';
import { scoringQueries } from '../../src/eval/shapes-world.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { clips } from '../helpers/fixtures.js';

let model: GroundingModel;
beforeAll(async () => {
  model = await loadModel(BUNDLED_MODEL_DIR);
});
afterAll(() => model?.close());

const clip01 = clips().find((c) => c.path.includes('clip01'))!; // 640x360, 90 frames
const clip05 = clips().find((c) => c.path.includes('clip05'))!; // 1280x720
const queries = scoringQueries();

describe('eval with a truth file that does not fit the clip', () => {
  it('refuses a truth of another size, on the first frame', async () => {
    await expect(evaluateClip(model, clip01.path, clip05.truth, { queries })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/truth is for 1280x720 frames, but .*clip01-640x360\.mp4 is 640x360/),
    });
  });

  it('refuses a truth that annotates frames the clip does not have', async () => {
    const longer = { ...clip01.truth, frames: [...clip01.truth.frames, { index: 200, objects: [] }] };
    await expect(evaluateClip(model, clip01.path, longer, { queries })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/annotates frame 200, but .* has 90 frames/),
    });
  });

  it('refuses a truth whose frameCount is not the clip\'s', async () => {
    await expect(evaluateClip(model, clip01.path, { ...clip01.truth, frameCount: 100 }, { queries })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/the truth says the clip has 100 frames \("frameCount"\), but .*clip01-640x360\.mp4 has 90/),
    });
  });

  it('scores the right truth, and refuses a recording whose frames are another size', async () => {
    const r = await evaluateClip(model, clip01.path, clip01.truth, { queries });
    expect(r.decodedFrames).toBe(90);
    expect(r.mAP50).toBeGreaterThan(0.5);
    const result = { frame: { seq: 0, width: 640, height: 360 }, detections: [] };
    expect(() => evaluateSession([result], clip05.truth, { queries, threshold: 0.4 })).toThrow(/truth is for 1280x720 frames, but the recorded stream is 640x360/);
    expect(evaluateSession([result], clip01.truth, { queries, threshold: 0.4 }).results).toBe(1);
  });
});
