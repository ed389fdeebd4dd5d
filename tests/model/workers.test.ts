import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGroundstreamError } from '../../src/errors.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { openSession } from '../../src/model/onnx-session.js';
import { stills } from '../helpers/fixtures.js';

const QUERIES = ['red circle', 'blue square', 'green triangle', 'yellow star', 'purple cross', 'white object', 'star', 'black object'];

/** Turns of the event loop (setImmediate callbacks) that ran while `p` was pending. */
async function turnsWhile<T>(p: Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const value = await p;
  done = true;
  return { value, turns };
}

describe('the model on worker threads (real onnxruntime, real worker_threads)', () => {
  let here: GroundingModel;
  let off: GroundingModel;
  beforeAll(async () => {
    here = await loadModel(BUNDLED_MODEL_DIR);
    off = await loadModel(BUNDLED_MODEL_DIR, { session: { workers: 2 } });
  });
  afterAll(async () => {
    await here?.close();
    await off?.close();
  });

  it('gives exactly the detections the same graph gives on the calling thread', async () => {
    for (const { path } of stills()) {
      const bytes = readFileSync(path);
      const a = await here.detect(bytes, QUERIES, { threshold: 0.1 });
      const b = await off.detect(bytes, QUERIES, { threshold: 0.1 });
      expect(b.detections.length).toBeGreaterThan(0);
      expect(b.detections).toEqual(a.detections);
    }
  });

  it('leaves the event loop free while the model runs, where the calling thread is held', async () => {
    const qs = await here.prepareQueries(QUERIES);
    const qo = await off.prepareQueries(QUERIES);
    const frame = { data: new Uint8Array(224 * 224 * 3).fill(90), width: 224, height: 224 };
    await here.detect(frame, qs);
    await off.detect(frame, qo);
    // onnxruntime-node runs a session synchronously inside one setImmediate: nothing else runs meanwhile
    const held = [] as number[];
    const free = [] as number[];
    for (let i = 0; i < 5; i++) {
      held.push((await turnsWhile(here.detect(frame, qs))).turns);
      free.push((await turnsWhile(off.detect(frame, qo))).turns);
    }
    // With the graph on this thread, the loop turns only around the run (before it and while the
    // result is delivered); with workers it keeps turning through the whole inference.
    expect(Math.max(...held)).toBeLessThanOrEqual(3);
    expect(Math.min(...free)).toBeGreaterThan(Math.max(...held));
  });

  it('runs several inferences at once, each with its own answer', async () => {
    const paths = stills().map((s) => s.path);
    const alone = await Promise.all(paths.map(async (p) => (await here.detect(readFileSync(p), QUERIES, { threshold: 0.2 })).detections));
    const together = await Promise.all(paths.map(async (p) => (await off.detect(readFileSync(p), QUERIES, { threshold: 0.2 })).detections));
    expect(together).toEqual(alone);
  });

  it('fails to open a bad graph with the same codes as on the calling thread', async () => {
    const bad = join(BUNDLED_MODEL_DIR, 'config.json'); // not an ONNX graph
    for (const workers of [0, 1]) {
      const e = await openSession(bad, { workers }).then(
        () => null,
        (x: unknown) => x,
      );
      expect(isGroundstreamError(e) && e.code).toBe('MODEL_LOAD_FAILED');
    }
    const missing = await openSession(join(BUNDLED_MODEL_DIR, 'onnx', 'nope.onnx'), { workers: 1 }).catch((x: unknown) => x);
    expect(isGroundstreamError(missing) && missing.code).toBe('MODEL_NOT_FOUND');
  });

  it('turns a failed run into MODEL_RUN_FAILED and keeps serving', async () => {
    const s = await openSession(join(BUNDLED_MODEL_DIR, 'onnx', 'detector.onnx'), { workers: 1 });
    try {
      const wrong = await s
        .run({ pixel_values: { type: 'float32', data: new Float32Array(10), dims: [1, 3, 224, 224] } }, ['logits'])
        .catch((x: unknown) => x);
      expect(isGroundstreamError(wrong) && wrong.code).toBe('MODEL_RUN_FAILED');
      const ok = await s.run(
        {
          pixel_values: { type: 'float32', data: new Float32Array(3 * 224 * 224), dims: [1, 3, 224, 224] },
          text_embeds: { type: 'float32', data: new Float32Array(4 * 65), dims: [4, 65] },
        },
        ['logits', 'pred_boxes'],
      );
      expect(ok.logits!.dims).toEqual([1, 784, 4]);
      expect(ok.pred_boxes!.data).toBeInstanceOf(Float32Array);
    } finally {
      await s.release();
    }
  });
});
