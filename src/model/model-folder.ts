/**
 * Reads a model folder in the Hugging Face layout (config.json, preprocessor_config.json,
 * tokenizer files, onnx/*.onnx) into one validated description. See docs/models.md.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GroundstreamError } from '../errors.js';
import { checkNotLfsPointer } from './lfs-pointer.js';
import { readPixelConfig, type Kernel } from './preprocessor-config.js';

export { CLIP_MEAN, CLIP_STD } from './preprocessor-config.js';

export type Family = 'owlvit' | 'owlv2';
const FAMILIES = 'owlvit (OWL-ViT) or owlv2 (OWLv2)';

export interface ModelFolder {
  dir: string;
  name: string;
  family: Family;
  /** Side S of the square the graph takes (pixel_values [1, 3, S, S]). */
  imageSize: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** sharp kernel matching the preprocessor's `resample`. */
  kernel: Kernel;
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
  /** Where the sizes fed to the graphs come from, for messages that say what to fix: the two files,
   * text_config.max_position_embeddings as given (null: absent, 16 is used), and
   * vision_config.image_size (the image size the model was built for) when config.json says. */
  sources: { config: string; preprocessor: string; maxPositionEmbeddings: number | null; visionImageSize: number | null };
}

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new GroundstreamError('MODEL_NOT_FOUND', path);
  checkNotLfsPointer(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new GroundstreamError('MODEL_CONFIG_INVALID', `${path} is not valid JSON`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GroundstreamError('MODEL_CONFIG_INVALID', `${path} must hold one JSON object`);
  }
  return parsed as Record<string, unknown>;
}

const show = (v: unknown) => JSON.stringify(v) ?? String(v);
const object = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** The .onnx files in `dir`, by name ([] when there is no such folder). */
function onnxFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort();
  } catch {
    return [];
  }
}

/** `variant` as a file in onnx/: its name, the name without `.onnx`, or `model_<variant>.onnx`
 * (so 'quantized' finds model_quantized.onnx). */
function variantPath(dir: string, variant: string): string {
  const onnxDir = join(dir, 'onnx');
  for (const name of [variant, `${variant}.onnx`, `model_${variant}.onnx`]) {
    if (name.endsWith('.onnx') && existsSync(join(onnxDir, name))) return join(onnxDir, name);
  }
  const found = onnxFiles(onnxDir);
  throw new GroundstreamError(
    'MODEL_NOT_FOUND',
    `variant "${variant}": no such graph in ${onnxDir} (${found.length ? `it has ${found.join(', ')}` : 'it holds no .onnx file'})`,
  );
}

/** Why no graph could be found, with the other graphs that are there and how to pick one. */
function noGraph(dir: string, wanted: string): GroundstreamError {
  const onnxDir = join(dir, 'onnx');
  const others = onnxFiles(onnxDir);
  const atTop = onnxFiles(dir);
  let hint: string;
  if (others.length) {
    hint = `${onnxDir} has ${others.join(', ')}: choose one with --variant ${others[0]} (library: loadModel(dir, { variant: '${others[0]}' }))`;
  } else if (atTop.length) {
    hint = `the folder has ${atTop.join(', ')} at its top: move the graph into onnx/, or name it in config.json as "groundstream": {"onnx": {"model": "${atTop[0]}"}}`;
  } else if (!existsSync(onnxDir)) {
    hint = `there is no onnx/ folder: the graphs go in ${onnxDir}`;
  } else {
    hint = `${onnxDir} holds no .onnx file`;
  }
  return new GroundstreamError('MODEL_NOT_FOUND', `${wanted} (and no split graphs); ${hint}`);
}

/** config.json's model_type, checked. */
function familyOf(type: unknown, configPath: string): Family {
  if (type === 'owlvit' || type === 'owlv2') return type;
  if (type === undefined) {
    throw new GroundstreamError('MODEL_CONFIG_INVALID', `${configPath} has no "model_type": add "model_type": "owlvit" or "owlv2" (supported: ${FAMILIES})`);
  }
  if (typeof type !== 'string') throw new GroundstreamError('MODEL_CONFIG_INVALID', `${configPath}: "model_type" must be a string (${FAMILIES}), got ${show(type)}`);
  throw new GroundstreamError('MODEL_UNSUPPORTED', `"${type}" (in ${configPath}); supported: ${FAMILIES}`);
}

/**
 * Reads and validates a model folder. `variant` picks another combined graph in onnx/ (for
 * example 'model_quantized.onnx', or 'quantized'); the split pair is used only with the default variant.
 */
export function readModelFolder(dir: string, variant?: string): ModelFolder {
  if (!existsSync(dir)) throw new GroundstreamError('MODEL_NOT_FOUND', dir);
  const configPath = join(dir, 'config.json');
  const config = readJson(configPath);
  const family = familyOf(config.model_type, configPath);
  const prePath = join(dir, 'preprocessor_config.json');
  const pixels = readPixelConfig(readJson(prePath), prePath);
  const gs = object(config.groundstream);
  const split = object(gs.split);
  const onnx = object(gs.onnx);
  const rel = (p: unknown) => (typeof p === 'string' ? join(dir, p) : null);
  const combinedPath = variant ? variantPath(dir, variant) : (rel(onnx.model) ?? join(dir, 'onnx', 'model.onnx'));
  const textEncoder = variant ? null : rel(split.text_encoder);
  const detector = variant ? null : rel(split.detector);
  // config.json names the split graphs: one that is missing is a broken folder, not a reason to run
  // the text tower on every frame without a word
  for (const [key, p] of [['text_encoder', textEncoder], ['detector', detector]] as const) {
    if (p && !existsSync(p)) throw new GroundstreamError('MODEL_NOT_FOUND', `${p} (named by groundstream.split.${key} in ${configPath})`);
  }
  const hasSplit = !!textEncoder && !!detector;
  const combined = existsSync(combinedPath) ? combinedPath : null;
  if (!combined && !hasSplit) throw noGraph(dir, combinedPath);
  const textConfig = object(config.text_config);
  const invalid = (field: string, why: string, v: unknown) => new GroundstreamError('MODEL_CONFIG_INVALID', `${configPath}: ${field} ${why}, got ${show(v)}`);
  const threshold = gs.threshold ?? 0.1;
  if (!(typeof threshold === 'number' && threshold > 0 && threshold < 1)) throw invalid('groundstream.threshold', 'must be a number between 0 and 1', gs.threshold);
  const nms = gs.nms_iou ?? null;
  if (nms !== null && !(typeof nms === 'number' && nms > 0 && nms <= 1)) throw invalid('groundstream.nms_iou', 'must be an IoU above 0 and at most 1, or null for no NMS', gs.nms_iou);
  const positions = textConfig.max_position_embeddings;
  if (positions !== undefined && !(typeof positions === 'number' && Number.isInteger(positions) && positions >= 3)) {
    throw invalid('text_config.max_position_embeddings', 'must be a whole number of tokens, at least 3', positions);
  }
  const vision = object(config.vision_config).image_size;
  return {
    dir,
    name: typeof config.name === 'string' ? config.name : (typeof config._name_or_path === 'string' ? config._name_or_path : dir),
    family,
    ...pixels,
    files: { combined, textEncoder: hasSplit ? textEncoder : null, detector: hasSplit ? detector : null },
    tokenizerJson: readJson(join(dir, 'tokenizer.json')),
    tokenizerConfig: readJson(join(dir, 'tokenizer_config.json')),
    maxTextLength: positions !== undefined ? Math.min(positions, 77) : 16,
    threshold,
    nmsIou: nms,
    sources: {
      config: configPath,
      preprocessor: prePath,
      maxPositionEmbeddings: positions ?? null,
      visionImageSize: typeof vision === 'number' ? vision : null,
    },
  };
}
