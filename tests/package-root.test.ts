import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';

describe('the package root', () => {
  it('exports what a program embedding groundstream needs, one stage each', () => {
    for (const name of ['loadModel', 'BUNDLED_MODEL_DIR', 'openFfmpegSource', 'PushedFrameSource', 'StreamPipeline', 'Limiter', 'StreamTracker', 'GroundstreamServer', 'resolveConfig', 'GroundstreamError', 'iou', 'normalizeQuery']) {
      expect(root, name).toHaveProperty(name);
      expect(typeof (root as Record<string, unknown>)[name], name).not.toBe('undefined');
    }
    expect(root.protocol.SUBPROTOCOL).toBe('groundstream.v1');
  });

  it('loads the bundled model through the root export and finds the objects of a fixture still', async () => {
    const model = await root.loadModel();
    try {
      const bytes = readFileSync('fixtures/stills/still01-640x360.jpg');
      const truth = JSON.parse(readFileSync('fixtures/stills/still01-640x360.truth.json', 'utf8'));
      const r = await model.detect(bytes, ['blue circle', 'purple cross']);
      expect([r.width, r.height]).toEqual([640, 360]);
      for (const q of ['blue circle', 'purple cross']) {
        const obj = truth.frames[0].objects.find((o: { color: string; shape: string }) => `${o.color} ${o.shape}` === q);
        const best = r.detections.filter((d) => d.query === q).sort((a, b) => b.score - a.score)[0];
        expect(best, q).toBeDefined();
        expect(root.iou(best!.box, obj.box), q).toBeGreaterThan(0.5);
      }
    } finally {
      await model.close();
    }
  });
});
