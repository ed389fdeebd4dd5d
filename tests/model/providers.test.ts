/** Execution providers in order of preference, on real onnxruntime with the bundled model. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isGroundstreamError } from '../../src/errors.js';
import { BUNDLED_MODEL_DIR, loadModel } from '../../src/model/index.js';
import { availableProviders } from '../../src/model/onnx-session.js';
import { stills } from '../helpers/fixtures.js';

// a provider groundstream knows that this build of onnxruntime-node lacks (dml: Windows; coreml: macOS)
const missing = ['dml', 'coreml', 'openvino', 'xnnpack'].find((p) => !availableProviders().includes(p))!;

describe('execution providers in order of preference', () => {
  for (const workers of [0, 1]) {
    it(`passes over a provider this build lacks, runs on the next one and says so (${workers ? 'worker thread' : 'calling thread'})`, async () => {
      const log: string[] = [];
      const model = await loadModel(BUNDLED_MODEL_DIR, { session: { executionProviders: [missing, 'cpu'], workers }, log: (m) => log.push(m) });
      try {
        expect(model.info.executionProviders).toEqual(['cpu']);
        expect(log.join('\n')).toMatch(new RegExp(`text_encoder\\.onnx runs on execution provider cpu, not ${missing}: not in this onnxruntime-node build`));
        // the next graph goes straight to cpu
        expect(log.filter((l) => / runs on execution provider /.test(l))).toHaveLength(1);
        const r = await model.detect(readFileSync(stills()[0]!.path), ['blue circle']);
        expect(r.detections.length).toBeGreaterThan(0);
      } finally {
        await model.close();
      }
    });
  }

  it('falls back from cuda to cpu when the CUDA libraries cannot be loaded (or runs on cuda where they can)', async () => {
    const log: string[] = [];
    const model = await loadModel(BUNDLED_MODEL_DIR, { session: { executionProviders: ['cuda', 'cpu'] }, log: (m) => log.push(m) });
    try {
      expect(model.info.executionProviders).toHaveLength(1);
      if (model.info.executionProviders[0] === 'cpu') expect(log.join('\n')).toMatch(/runs on execution provider cpu, not cuda: /);
      expect((await model.detect(readFileSync(stills()[0]!.path), ['blue circle'])).detections.length).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  });

  it('fails with PROVIDER_UNAVAILABLE only when no provider in the list can be used, saying why for each', async () => {
    const e = await loadModel(BUNDLED_MODEL_DIR, { session: { executionProviders: [missing] } }).catch((x: unknown) => x);
    expect(isGroundstreamError(e, 'PROVIDER_UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toMatch(new RegExp(`${missing} could not be used for .*: ${missing}: not in this onnxruntime-node build \\(it has cpu`));
    const typo = await loadModel(BUNDLED_MODEL_DIR, { session: { executionProviders: ['cpu', 'cdua'] } }).catch((x: unknown) => x);
    expect(isGroundstreamError(typo, 'PROVIDER_UNAVAILABLE')).toBe(true);
    expect((typo as Error).message).toMatch(/unknown execution provider "cdua" \(known: cpu, cuda/);
  });
});
