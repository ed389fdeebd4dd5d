import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isGroundstreamError } from '../../src/errors.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { openSession } from '../../src/model/onnx-session.js';
import { ROOT, stills } from '../helpers/fixtures.js';

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
    // Structure: the worker model never runs a session on this thread.
    const runs = vi.spyOn(ort.InferenceSession.prototype, 'run');
    try {
      await off.detect(frame, qo);
      expect(runs).not.toHaveBeenCalled();
      await here.detect(frame, qs);
      expect(runs).toHaveBeenCalledTimes(1);
    } finally {
      runs.mockRestore();
    }
    // Behaviour: onnxruntime-node runs a session synchronously inside one setImmediate, so nothing
    // else runs meanwhile; with a worker the loop keeps turning through the inference (on a loaded
    // machine this thread may sleep through a whole run, hence the best of ten).
    const held = [] as number[];
    const free = [] as number[];
    for (let i = 0; i < 10; i++) {
      held.push((await turnsWhile(here.detect(frame, qs))).turns);
      free.push((await turnsWhile(off.detect(frame, qo))).turns);
    }
    expect(Math.max(...held)).toBeLessThanOrEqual(3);
    expect(Math.max(...free)).toBeGreaterThan(Math.max(...held));
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

  it('turns a failed run into MODEL_RUN_FAILED and keeps serving, on this thread and on a worker', async () => {
    const good = {
      pixel_values: { type: 'float32' as const, data: new Float32Array(3 * 224 * 224), dims: [1, 3, 224, 224] },
      text_embeds: { type: 'float32' as const, data: new Float32Array(4 * 65), dims: [4, 65] },
    };
    for (const workers of [0, 1]) {
      const s = await openSession(join(BUNDLED_MODEL_DIR, 'onnx', 'detector.onnx'), { workers });
      try {
        const badTensor = await s.run({ ...good, pixel_values: { ...good.pixel_values, data: new Float32Array(10) } }, ['logits']).catch((x: unknown) => x);
        expect(isGroundstreamError(badTensor) && badTensor.code).toBe('MODEL_RUN_FAILED');
        const missingInput = await s.run({ pixel_values: good.pixel_values }, ['logits']).catch((x: unknown) => x);
        expect(isGroundstreamError(missingInput) && missingInput.code).toBe('MODEL_RUN_FAILED');
        const ok = await s.run(good, ['logits', 'pred_boxes']);
        expect(ok.logits!.dims).toEqual([1, 784, 4]);
        expect(ok.pred_boxes!.data).toBeInstanceOf(Float32Array);
      } finally {
        await s.release();
      }
    }
  });

  it('settles a run in flight when released, and refuses runs after', async () => {
    const s = await openSession(join(BUNDLED_MODEL_DIR, 'onnx', 'detector.onnx'), { workers: 1 });
    const feeds = {
      pixel_values: { type: 'float32' as const, data: new Float32Array(3 * 224 * 224), dims: [1, 3, 224, 224] },
      text_embeds: { type: 'float32' as const, data: new Float32Array(4 * 65), dims: [4, 65] },
    };
    const inFlight = s.run(feeds, ['logits']).then(
      () => 'answered',
      (e: unknown) => (isGroundstreamError(e) ? e.code : 'other error'),
    );
    await s.release();
    // either it finished first or it failed with the run code: never left pending
    expect(['answered', 'MODEL_RUN_FAILED']).toContain(await inFlight);
    const after = await s.run(feeds, ['logits']).catch((x: unknown) => x);
    expect(isGroundstreamError(after) && after.code).toBe('MODEL_RUN_FAILED');
  });

  it("with workers 'auto', puts a big per-frame graph on a worker and leaves a small one here", async () => {
    for (const [autoWorkerBytes, where] of [
      [undefined, /detector\.onnx: /], // the bundled 2 MB detector is under the 32 MiB default
      [1_000_000, /detector\.onnx on 1 worker thread: /],
    ] as const) {
      const log: string[] = [];
      const m = await loadModel(BUNDLED_MODEL_DIR, { session: { workers: 'auto' }, autoWorkerBytes, log: (l) => log.push(l) });
      try {
        expect(log.join('\n')).toMatch(where);
        expect((await m.detect(readFileSync(stills()[0]!.path), QUERIES, { threshold: 0.1 })).detections.length).toBeGreaterThan(0);
      } finally {
        await m.close();
      }
    }
  });

  it('closes while runs are in flight without taking the process down', async () => {
    // Terminating a worker inside onnxruntime's native run aborts the whole process (a C++
    // exception escapes): close must let the runs finish first. This test's process would die here.
    const frame = { data: new Uint8Array(224 * 224 * 3).fill(80), width: 224, height: 224 };
    for (let round = 0; round < 5; round++) {
      const m = await loadModel(BUNDLED_MODEL_DIR, { session: { workers: 2 } });
      const qs = await m.prepareQueries(['red circle', 'star']);
      let stop = false;
      const outcomes: string[] = [];
      const loop = async () => {
        while (!stop) {
          try {
            await m.detect(frame, qs);
            outcomes.push('answered');
          } catch (e) {
            outcomes.push(isGroundstreamError(e) ? e.code : 'other');
            return;
          }
        }
      };
      const loops = [loop(), loop(), loop()];
      while (outcomes.length < 3 * (round + 1)) await new Promise((r) => setImmediate(r)); // runs under way
      await m.close();
      stop = true;
      await Promise.all(loops);
      expect(outcomes.filter((o) => o !== 'answered' && o !== 'MODEL_RUN_FAILED')).toEqual([]);
    }
  });

  it('ends the process cleanly after close(), called twice while runs are in flight (built code, a child process)', async () => {
    const script = join(ROOT, 'tests', 'helpers', 'close-then-exit.mjs');
    for (let i = 0; i < 3; i++) {
      // exit 134 ("terminate called after throwing an instance of 'Napi::Error'") rejects here
      const { stdout } = await promisify(execFile)(process.execPath, [script]);
      expect(stdout).toMatch(/^answered \d+/);
    }
  });

  it("counts a graph's external data files in the 'auto' size", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-auto-'));
    try {
      const skip = [join(BUNDLED_MODEL_DIR, 'work'), join(BUNDLED_MODEL_DIR, 'train')];
      cpSync(BUNDLED_MODEL_DIR, dir, { recursive: true, filter: (src) => !skip.some((d) => src.startsWith(d)) });
      const data = join(dir, 'onnx', 'detector.onnx_data');
      writeFileSync(data, '');
      truncateSync(data, 40 * 2 ** 20); // a sparse 40 MiB "weights file", as big exports have
      const log: string[] = [];
      const m = await loadModel(dir, { session: { workers: 'auto' }, log: (l) => log.push(l) });
      await m.close();
      expect(log.join('\n')).toMatch(/detector\.onnx on 1 worker thread: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad worker count with CONFIG_INVALID', async () => {
    for (const workers of [-1, 1.5, Number.NaN]) {
      const e = await openSession(join(BUNDLED_MODEL_DIR, 'onnx', 'detector.onnx'), { workers }).catch((x: unknown) => x);
      expect(isGroundstreamError(e) && e.code).toBe('CONFIG_INVALID');
    }
  });
});
