/**
 * The memory benchmark's reference: the same number of calls with the same mix of shapes, made
 * on onnxruntime-node directly (detector.onnx every call with 4 to 32 query rows as detect() pads
 * them; text_encoder.onnx every 5th call, as a never-seen query would), with groundstream's
 * session settings and nothing of groundstream around it. Whatever RSS does here, onnxruntime-node
 * and V8 do by themselves. Prints one JSON line, in memory-child.ts's format.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { benchInput } from '../lib/child-input.js';
import { measureMemory } from '../lib/memory-run.js';
import { decodeClip, prng } from '../lib/fixtures.js';

const { calls, warmup, every, modelDir, clip } = benchInput<{ calls: number; warmup: number; every: number; modelDir: string; clip: string }>();

const options: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
};
const detector = await ort.InferenceSession.create(join(modelDir, 'onnx/detector.onnx'), options);
const textEncoder = await ort.InferenceSession.create(join(modelDir, 'onnx/text_encoder.onnx'), options);
const S = 224;
const frames = decodeClip(clip, S, 640, 360, 30).frames.map((f) => Float32Array.from(f, (v) => v / 255 - 0.5));
const rng = prng(1);
const embeds = new Map<number, Float32Array>();
const ids = new BigInt64Array(4 * 16).fill(1n);
const mask = new BigInt64Array(4 * 16).fill(1n);
const bucket = (n: number) => (n <= 4 ? 4 : n <= 8 ? 8 : n <= 16 ? 16 : 32);

async function call(i: number): Promise<void> {
  const rows = bucket(1 + Math.floor(rng() * 16) + (i % 5 === 0 ? 1 : 0));
  if (i % 5 === 0) {
    await textEncoder.run({ input_ids: new ort.Tensor('int64', ids, [4, 16]), attention_mask: new ort.Tensor('int64', mask, [4, 16]) });
  }
  let e = embeds.get(rows);
  if (!e) embeds.set(rows, (e = Float32Array.from({ length: rows * 65 }, () => rng() - 0.5)));
  await detector.run({ pixel_values: new ort.Tensor('float32', frames[i % frames.length]!, [1, 3, S, S]), text_embeds: new ort.Tensor('float32', e, [rows, 65]) });
}

const { msPerCall, samples, afterGc } = await measureMemory({ calls, warmup, every }, call);
await Promise.all([detector.release(), textEncoder.release()]);
console.log(JSON.stringify({ calls, warmup, msPerCall, novelQueries: 0, samples, afterGc }));
process.exit(0);
