/** Opens a model folder: reads its files, opens its graphs, checks their signatures, logs them. */
import { fileURLToPath } from 'node:url';
import { GroundstreamError } from '../errors.js';
import type { GroundingModel } from './grounding-model.js';
import { readModelFolder } from './model-folder.js';
import { openSession, type GraphSession, type SessionOptions } from './onnx-session.js';
import { OwlModel, type OwlLimits } from './owl/owl-model.js';
import { checkSignature, fixedImageSize, formatSignature, type TensorSpec } from './signature.js';
import { TextTokenizer } from './text-tokenizer.js';

/** The bundled shapes-world model, shipped in the package's models/ folder. */
export const BUNDLED_MODEL_DIR = fileURLToPath(new URL('../../models/shapes-owl', import.meta.url));

export interface LoadOptions extends Partial<OwlLimits> {
  /** Another combined graph in onnx/, e.g. 'model_quantized.onnx'. */
  variant?: string;
  /** Prefer the combined graph even when split graphs exist. Default false. */
  forceCombined?: boolean;
  session?: SessionOptions;
  /** Receives one line per opened graph (names, types, shapes). */
  log?: (message: string) => void;
}

const TEXT_IN: TensorSpec[] = [
  { name: 'input_ids', type: 'int64', dims: [null, null] },
  { name: 'attention_mask', type: 'int64', dims: [null, null] },
];
const OUT: TensorSpec[] = [
  { name: 'logits', type: 'float32', dims: [null, null, null] },
  { name: 'pred_boxes', type: 'float32', dims: [null, null, 4] },
];

export async function loadModel(dir: string = BUNDLED_MODEL_DIR, options: LoadOptions = {}): Promise<GroundingModel> {
  const folder = readModelFolder(dir, options.variant);
  const tokenizer = new TextTokenizer(folder.tokenizerJson, folder.tokenizerConfig, folder.maxTextLength);
  const S = folder.imageSize;
  const pixelSpec: TensorSpec = { name: 'pixel_values', type: 'float32', dims: [null, 3, S, S] };
  const opened: GraphSession[] = [];
  const workers = options.session?.workers ?? 0;
  // The text encoder runs once per new query, so one worker (if any) is enough for it.
  const open = async (path: string, inputs: TensorSpec[], outputs: TensorSpec[], perFrame = true) => {
    const n = perFrame || !(workers > 0) ? workers : 1; // a bad value goes on to openSession, which names it
    const s = await openSession(path, { ...options.session, workers: n });
    opened.push(s);
    const where = n === 0 ? '' : ` on ${n} worker thread${n > 1 ? 's' : ''}`;
    options.log?.(`opened ${path}${where}: ${formatSignature(s.inputs, s.outputs)}`);
    checkSignature(path, s.inputs, s.outputs, inputs, outputs);
    const fixed = fixedImageSize(s.inputs);
    if (fixed !== null && fixed !== S) {
      throw new GroundstreamError('MODEL_SIGNATURE', `${path}: graph takes ${fixed}x${fixed} but preprocessor_config.json says ${S}`);
    }
    return s;
  };
  try {
    const useSplit = !options.forceCombined && folder.files.textEncoder && folder.files.detector;
    const graphs = useSplit
      ? {
          combined: null,
          textEncoder: await open(folder.files.textEncoder!, TEXT_IN, [{ name: 'text_embeds', type: 'float32', dims: [null, null] }], false),
          detector: await open(folder.files.detector!, [pixelSpec, { name: 'text_embeds', type: 'float32', dims: [null, null] }], OUT),
        }
      : {
          combined: await open(
            folder.files.combined ?? (() => { throw new GroundstreamError('MODEL_NOT_FOUND', `${dir}/onnx/model.onnx`); })(),
            [...TEXT_IN, pixelSpec],
            OUT,
          ),
          textEncoder: null,
          detector: null,
        };
    return new OwlModel(
      folder,
      tokenizer,
      graphs,
      {
        maxPixels: options.maxPixels ?? 40_000_000,
        maxQueryLength: options.maxQueryLength ?? 256,
        cacheSize: options.cacheSize ?? 4096,
      },
      options.session?.executionProviders ?? ['cpu'],
    );
  } catch (e) {
    await Promise.all(opened.map((s) => s.release()));
    throw e;
  }
}
