// Checks an export against PyTorch: the three graphs load in onnxruntime-node and agree with the
// reference outputs (max abs diff <= 1e-4), and @huggingface/tokenizers encodes queries exactly as
// the Python tokenizer used in training did. Usage: node check-export.mjs EXPORT_DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';

const dir = process.argv[2];
const refDir = join(dir, 'ref');
const index = JSON.parse(readFileSync(join(refDir, 'reference.json'), 'utf8'));
const tensor = (name) => {
  const m = index[name];
  const b = readFileSync(join(refDir, `${name}.bin`));
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  return m.dtype === 'int64' ? new ort.Tensor('int64', new BigInt64Array(ab), m.shape) : new ort.Tensor('float32', new Float32Array(ab), m.shape);
};
const maxDiff = (a, b) => {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const TOL = 1e-4;
let failed = false;
const report = (what, diff) => {
  const ok = diff <= TOL;
  failed ||= !ok;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: max abs diff ${diff.toExponential(2)} (tolerance ${TOL})`);
};

const open = (f) => ort.InferenceSession.create(join(dir, 'onnx', f), { intraOpNumThreads: 2 });
const combined = await open('model.onnx');
const out = await combined.run({ input_ids: tensor('input_ids'), attention_mask: tensor('attention_mask'), pixel_values: tensor('pixel_values') });
report('model.onnx logits', maxDiff(out.logits.data, tensor('logits').data));
report('model.onnx pred_boxes', maxDiff(out.pred_boxes.data, tensor('pred_boxes').data));
const text = await open('text_encoder.onnx');
const emb = await text.run({ input_ids: tensor('input_ids'), attention_mask: tensor('attention_mask') });
report('text_encoder.onnx text_embeds', maxDiff(emb.text_embeds.data, tensor('text_embeds').data));
const det = await open('detector.onnx');
const d = await det.run({ pixel_values: tensor('pixel_values'), text_embeds: emb.text_embeds });
report('detector.onnx logits', maxDiff(d.logits.data, tensor('logits').data));
report('detector.onnx pred_boxes', maxDiff(d.pred_boxes.data, tensor('pred_boxes').data));

const tokCases = JSON.parse(readFileSync(join(refDir, 'tokens.json'), 'utf8'));
const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
let mismatches = 0;
for (const [text, ids] of Object.entries(tokCases)) {
  // the runtime truncates the same way: keep the start token, at most 14 content tokens, the end token
  const full = tok.encode(text).ids;
  const js = [full[0], ...full.slice(1, -1).slice(0, 14), full.at(-1)];
  if (JSON.stringify(js) !== JSON.stringify(ids)) {
    mismatches++;
    console.log(`FAIL tokenizer: ${JSON.stringify(text)} python ${JSON.stringify(ids)} js ${JSON.stringify(js)}`);
  }
}
failed ||= mismatches > 0;
console.log(`${mismatches ? 'FAIL' : 'ok  '} tokenizer: ${Object.keys(tokCases).length} queries, ${mismatches} mismatches`);
process.exit(failed ? 1 : 0);
