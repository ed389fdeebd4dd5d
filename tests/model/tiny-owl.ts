/**
 * Tiny OWL-style ONNX graphs written by hand (a few hundred bytes of protobuf), so that tests can
 * give onnxruntime a graph with exactly the fixed or symbolic dims, internal sizes and outputs a
 * case needs, without Python. And model folders around them, with the bundled model's tokenizer.
 *
 * The combined graph: input_ids, attention_mask [Q, L] int64 and pixel_values [B, 3, H, W] ->
 * logits [1, P, Q] and pred_boxes [1, P, 4], where P = G x G patches. The image goes through an
 * average pool of kernel `imageSize / G` and then has a [1, 3, G, G] constant added, so an image of
 * another size fails inside the graph (as a real export's position embeddings do); with `textLength`
 * the ids have an [L] constant added, so another text length fails the same way. The scores and
 * boxes are constants (`patchLogits`, `boxes`) whatever the image and the queries. The split pair
 * does the same in two graphs, passing [Q, 1] zeros as text_embeds.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED_MODEL_DIR } from '../../src/model/index.js';

// ---------------------------------------------------------------- protobuf wire format
type Field = Uint8Array;

function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return out;
}
const cat = (parts: Field[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const vint = (field: number, v: number | bigint): Field => new Uint8Array([...varint((field << 3) | 0), ...varint(v)]);
const bytes = (field: number, b: Uint8Array): Field => cat([new Uint8Array([...varint((field << 3) | 2), ...varint(b.length)]), b]);
const str = (field: number, s: string): Field => bytes(field, new TextEncoder().encode(s));
const f32 = (field: number, v: number): Field => {
  const b = new Uint8Array(5);
  b[0] = (field << 3) | 5;
  new DataView(b.buffer).setFloat32(1, v, true);
  return b;
};

// ---------------------------------------------------------------- ONNX messages
const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
export type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): Field {
  const shape = cat(dims.map((d) => bytes(1, typeof d === 'number' ? vint(1, d) : str(2, d))));
  const tensorType = cat([vint(1, elemType), bytes(2, shape)]);
  return cat([str(1, name), bytes(2, bytes(1, tensorType))]);
}

function tensor(name: string, dims: number[], values: Float32Array | BigInt64Array): Field {
  const type = values instanceof Float32Array ? FLOAT : INT64;
  return cat([...dims.map((d) => vint(1, d)), vint(2, type), str(8, name), bytes(9, new Uint8Array(values.buffer, values.byteOffset, values.byteLength))]);
}

type Attr = { name: string; i?: number; f?: number; ints?: number[] };
function attribute(a: Attr): Field {
  if (a.ints) return cat([str(1, a.name), ...a.ints.map((v) => vint(8, v)), vint(20, 7)]);
  if (a.f !== undefined) return cat([str(1, a.name), f32(2, a.f), vint(20, 1)]);
  return cat([str(1, a.name), vint(3, a.i!), vint(20, 2)]);
}

function node(op: string, inputs: string[], outputs: string[], attrs: Attr[] = []): Field {
  return cat([...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, `${op}_${outputs[0]}`), str(4, op), ...attrs.map((a) => bytes(5, attribute(a)))]);
}

function model(nodes: Field[], inits: Field[], inputs: Field[], outputs: Field[]): Uint8Array {
  const graph = cat([...nodes.map((n) => bytes(1, n)), str(2, 'tiny'), ...inits.map((t) => bytes(5, t)), ...inputs.map((i) => bytes(11, i)), ...outputs.map((o) => bytes(12, o))]);
  const opset = cat([str(1, ''), vint(2, 17)]);
  return cat([vint(1, 8), str(2, 'groundstream-tests'), bytes(7, graph), bytes(8, opset)]);
}

// ---------------------------------------------------------------- OWL-style graphs
export interface TinyOwlOptions {
  /** The image side the graph is built for (its internal constant). Default 32. */
  imageSize?: number;
  /** Patches per side (G); P = G * G. Default 4. */
  grid?: number;
  /** Declared dims of input_ids and attention_mask. Default ['text_batch_size', 'sequence_length']. */
  textDims?: [Dim, Dim];
  /** Declared dims of pixel_values. Default ['image_batch_size', 'num_channels', 'height', 'width']. */
  pixelDims?: [Dim, Dim, Dim, Dim];
  /** A text length fixed inside the graph (the graph fails on another), or none. */
  textLength?: number;
  /** input_ids and attention_mask as int32 instead of int64. */
  int32Ids?: boolean;
  /** Logit of each patch, for every query. Default -10 everywhere. */
  patchLogits?: number[];
  /** [P * 4] cx, cy, w, h per patch. Default: each patch's own grid cell. */
  boxes?: number[];
}

/** The combined graph described at the top of this file, as ONNX bytes; or, with `part`, the split
 * pair: a text encoder (ids -> text_embeds [Q, 1]) and a detector (pixel_values, text_embeds). */
export function tinyOwlGraph(o: TinyOwlOptions = {}, part: 'combined' | 'text_encoder' | 'detector' = 'combined'): Uint8Array {
  const S = o.imageSize ?? 32;
  const G = o.grid ?? 4;
  const P = G * G;
  const patch = S / G;
  const logits = o.patchLogits ?? new Array<number>(P).fill(-10);
  const boxes = o.boxes ?? Array.from({ length: P }, (_, p) => [((p % G) + 0.5) / G, (Math.floor(p / G) + 0.5) / G, 1 / G, 1 / G]).flat();
  const idsType = o.int32Ids ? INT32 : INT64;
  const i64 = (...v: number[]) => BigInt64Array.from(v.map(BigInt));
  const text: Field[] = [
    // [Q, L] ids -> [Q, 1] zeros (a fixed text length breaks the Add)
    ...(o.int32Ids ? [node('Cast', ['input_ids'], ['ids64'], [{ name: 'to', i: INT64 }])] : []),
    node('Cast', [o.int32Ids ? 'ids64' : 'input_ids'], ['idsf'], [{ name: 'to', i: FLOAT }]),
    node('Add', ['idsf', o.textLength ? 'text_pos' : 'zero_f'], ['idsp']),
    node('ReduceSum', ['idsp', 'axis1'], ['idsum'], [{ name: 'keepdims', i: 1 }]),
    node('Mul', ['idsum', 'zero_f'], [part === 'text_encoder' ? 'text_embeds' : 'qzero']),
  ];
  const detector: Field[] = [
    node('Transpose', [part === 'detector' ? 'text_embeds' : 'qzero'], ['qrow'], [{ name: 'perm', ints: [1, 0] }]), // [1, Q]
    // image: [1, 3, S, S] -> [1, 3, G, G] (+ a constant that only fits G x G) -> [1, P, 1] zeros
    node('AveragePool', ['pixel_values'], ['pooled'], [{ name: 'kernel_shape', ints: [patch, patch] }, { name: 'strides', ints: [patch, patch] }]),
    node('Add', ['pooled', 'image_pos'], ['pooledp']),
    node('Reshape', ['pooledp', 'shape_13p'], ['feat']), // [1, 3, P]
    node('ReduceSum', ['feat', 'axis1'], ['fsum'], [{ name: 'keepdims', i: 1 }]), // [1, 1, P]
    node('Transpose', ['fsum'], ['fcol'], [{ name: 'perm', ints: [0, 2, 1] }]), // [1, P, 1]
    node('Mul', ['fcol', 'zero_f'], ['pzero']),
    node('Add', ['pzero', 'patch_logits'], ['pl']), // [1, P, 1]
    node('Add', ['pl', 'qrow'], ['logits']), // [1, P, Q]
    node('Identity', ['box_const'], ['pred_boxes']),
  ];
  const inits = [
    tensor('zero_f', [], new Float32Array([0])),
    tensor('axis1', [1], i64(1)),
    ...(part === 'detector' ? [] : o.textLength ? [tensor('text_pos', [o.textLength], new Float32Array(o.textLength))] : []),
    ...(part === 'text_encoder'
      ? []
      : [
          tensor('shape_13p', [3], i64(1, 3, P)),
          tensor('image_pos', [1, 3, G, G], new Float32Array(3 * P)),
          tensor('patch_logits', [1, P, 1], Float32Array.from(logits)),
          tensor('box_const', [1, P, 4], Float32Array.from(boxes)),
        ]),
  ];
  const [q, l] = o.textDims ?? ['text_batch_size', 'sequence_length'];
  const ids = [valueInfo('input_ids', idsType, [q, l]), valueInfo('attention_mask', idsType, [q, l])];
  const pixels = valueInfo('pixel_values', FLOAT, o.pixelDims ?? ['image_batch_size', 'num_channels', 'height', 'width']);
  const outputs = [valueInfo('logits', FLOAT, [1, P, q]), valueInfo('pred_boxes', FLOAT, [1, P, 4])];
  if (part === 'text_encoder') return model(text, inits, ids, [valueInfo('text_embeds', FLOAT, [q, 1])]);
  if (part === 'detector') return model(detector, inits, [pixels, valueInfo('text_embeds', FLOAT, [q, 1])], outputs);
  return model([...text, ...detector], inits, [ids[0]!, pixels, ids[1]!], outputs);
}

export interface TinyFolderOptions extends TinyOwlOptions {
  family?: 'owlvit' | 'owlv2';
  /** preprocessor_config.json, merged over the default ({size: imageSize, resample 3, CLIP mean/std}). */
  preprocessor?: Record<string, unknown>;
  /** config.json, merged over the default (model_type, text_config.max_position_embeddings 16). */
  config?: Record<string, unknown>;
  /** The graph's file name in onnx/. Default model.onnx. */
  graphName?: string;
  /** Write the split pair (onnx/text_encoder.onnx, onnx/detector.onnx, named in config.json) too. */
  split?: boolean;
}

/** Writes a model folder in the Hugging Face layout around a tiny graph; returns `dir`. */
export function writeTinyOwlFolder(dir: string, o: TinyFolderOptions = {}): string {
  const S = o.imageSize ?? 32;
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(BUNDLED_MODEL_DIR, f), join(dir, f));
  const config = {
    model_type: o.family ?? 'owlvit',
    name: 'tiny-owl',
    text_config: { max_position_embeddings: 16 },
    vision_config: { image_size: S },
    ...(o.split ? { groundstream: { split: { text_encoder: 'onnx/text_encoder.onnx', detector: 'onnx/detector.onnx' } } } : {}),
    ...o.config,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const pre = {
    size: S,
    resample: 3,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
    ...o.preprocessor,
  };
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(pre));
  writeFileSync(join(dir, 'onnx', o.graphName ?? 'model.onnx'), tinyOwlGraph(o));
  if (o.split) {
    writeFileSync(join(dir, 'onnx', 'text_encoder.onnx'), tinyOwlGraph(o, 'text_encoder'));
    writeFileSync(join(dir, 'onnx', 'detector.onnx'), tinyOwlGraph(o, 'detector'));
  }
  return dir;
}
