/**
 * Reads a model folder in the Hugging Face layout (config.json, preprocessor_config.json,
 * tokenizer files, onnx/*.onnx) into one validated description. See docs/models.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GroundstreamError } from '../errors.js';

export type Family = 'owlvit' | 'owlv2';

export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export interface ModelFolder {
  dir: string;
  name: string;
  family: Family;
  /** Side S of the square the graph takes (pixel_values [1, 3, S, S]). */
  imageSize: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** sharp kernel matching the preprocessor's `resample`. */
  kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
  /** The combined graph (always wanted as fallback) and, when present, the split pair. */
  files: { combined: string | null; textEncoder: string | null; detector: string | null };
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  /** Longest token sequence the text model takes, start and end tokens included. Default 16. */
  maxTextLength: number;
  /** Default score threshold (the model's calibrated one, else the reference default 0.1). */
  threshold: number;
  /** Default per-query NMS IoU, or null for none (the reference does no NMS for text queries). */
  nmsIou: number | null;
}

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new GroundstreamError('MODEL_NOT_FOUND', path);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new GroundstreamError('MODEL_CONFIG_INVALID', `${path} is not valid JSON`, { cause: e });
  }
}

function sizeOf(pre: Record<string, unknown>, file: string): number {
  const s = pre.size;
  if (typeof s === 'number') return s;
  if (s && typeof s === 'object') {
    const o = s as Record<string, unknown>;
    if (typeof o.height === 'number' && typeof o.width === 'number') {
      if (o.height !== o.width) throw new GroundstreamError('MODEL_CONFIG_INVALID', `${file}: size must be square`);
      return o.height;
    }
    if (typeof o.shortest_edge === 'number') return o.shortest_edge;
  }
  throw new GroundstreamError('MODEL_CONFIG_INVALID', `${file}: no usable "size"`);
}

function triple(v: unknown, fallback: readonly [number, number, number]): readonly [number, number, number] {
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')) return v as [number, number, number];
  return fallback;
}

const KERNELS: Record<number, ModelFolder['kernel']> = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic' };

/**
 * Reads and validates a model folder. `variant` picks another combined graph in onnx/ (for
 * example 'model_quantized.onnx'); the split pair is used only with the default variant.
 */
export function readModelFolder(dir: string, variant?: string): ModelFolder {
  if (!existsSync(dir)) throw new GroundstreamError('MODEL_NOT_FOUND', dir);
  const configPath = join(dir, 'config.json');
  const config = readJson(configPath);
  const type = config.model_type;
  if (type !== 'owlvit' && type !== 'owlv2') {
    throw new GroundstreamError('MODEL_UNSUPPORTED', `${String(type)} (in ${configPath}); supported: owlvit, owlv2`);
  }
  const prePath = join(dir, 'preprocessor_config.json');
  const pre = readJson(prePath);
  const gs = (config.groundstream ?? {}) as Record<string, unknown>;
  const split = (gs.split ?? {}) as Record<string, unknown>;
  const onnx = (gs.onnx ?? {}) as Record<string, unknown>;
  const rel = (p: unknown) => (typeof p === 'string' ? join(dir, p) : null);
  const combinedPath = variant ? join(dir, 'onnx', variant) : (rel(onnx.model) ?? join(dir, 'onnx', 'model.onnx'));
  const textEncoder = variant ? null : rel(split.text_encoder);
  const detector = variant ? null : rel(split.detector);
  // config.json names the split graphs: one that is missing is a broken folder, not a reason to run
  // the text tower on every frame without a word
  for (const [key, p] of [['text_encoder', textEncoder], ['detector', detector]] as const) {
    if (p && !existsSync(p)) throw new GroundstreamError('MODEL_NOT_FOUND', `${p} (named by groundstream.split.${key} in ${configPath})`);
  }
  const hasSplit = !!textEncoder && !!detector;
  const combined = existsSync(combinedPath) ? combinedPath : null;
  if (!combined && !hasSplit) throw new GroundstreamError('MODEL_NOT_FOUND', `${combinedPath} (and no split graphs)`);
  const textConfig = (config.text_config ?? {}) as Record<string, unknown>;
  const threshold = typeof gs.threshold === 'number' ? gs.threshold : 0.1;
  if (!(threshold > 0 && threshold < 1)) throw new GroundstreamError('MODEL_CONFIG_INVALID', `threshold ${threshold}`);
  const nms = gs.nms_iou;
  return {
    dir,
    name: typeof config.name === 'string' ? config.name : (typeof config._name_or_path === 'string' ? config._name_or_path : dir),
    family: type,
    imageSize: sizeOf(pre, prePath),
    mean: triple(pre.image_mean, CLIP_MEAN),
    std: triple(pre.image_std, CLIP_STD),
    kernel: KERNELS[typeof pre.resample === 'number' ? pre.resample : 3] ?? 'cubic',
    files: { combined, textEncoder: hasSplit ? textEncoder : null, detector: hasSplit ? detector : null },
    tokenizerJson: readJson(join(dir, 'tokenizer.json')),
    tokenizerConfig: readJson(join(dir, 'tokenizer_config.json')),
    maxTextLength: typeof textConfig.max_position_embeddings === 'number' ? Math.min(textConfig.max_position_embeddings, 77) : 16,
    threshold,
    nmsIou: typeof nms === 'number' && nms > 0 && nms <= 1 ? nms : null,
  };
}
