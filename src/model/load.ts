/** Opens a model folder: reads its files, opens its graphs, checks their signatures, logs them. */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
  /** Session options; `workers: 'auto'` puts a per-frame graph over AUTO_WORKER_BYTES on one
   * worker thread and runs a smaller one on the calling thread. */
  session?: Omit<SessionOptions, 'workers'> & { workers?: number | 'auto' };
  /** The size above which `workers: 'auto'` uses a worker. Default AUTO_WORKER_BYTES. */
  autoWorkerBytes?: number;
  /** Receives one line per opened graph (names, types, shapes). */
  log?: (message: string) => void;
}

/** Per-frame graphs bigger than this run on a worker with `workers: 'auto'`: such a model takes
 * long enough per frame (an OWL-ViT B/32 is 580 MB and takes hundreds of ms on a CPU) that holding
 * the event loop for it stalls every client, and the hop (0.4-0.5 ms here) is lost in it; a small one,
 * like the bundled 2 MB detector, runs faster where it is. */
export const AUTO_WORKER_BYTES = 32 * 2 ** 20;

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
  const useSplit = !options.forceCombined && folder.files.textEncoder && folder.files.detector;
  const perFrameGraph = useSplit ? folder.files.detector! : folder.files.combined;
  const asked = options.session?.workers ?? 0;
  const workers = asked === 'auto' ? (perFrameGraph && fileBytes(perFrameGraph) > (options.autoWorkerBytes ?? AUTO_WORKER_BYTES) ? 1 : 0) : asked;
  // The text encoder runs once per new query, so one worker (if any) is enough for it.
  const open = async (path: string, inputs: TensorSpec[], outputs: TensorSpec[], perFrame = true) => {
    const n = perFrame ? workers : Math.min(workers, 1); // a bad value (NaN, -1) goes on to openSession, which names it
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

/** A graph's size with its external data files (`model.onnx_data`, `model.onnx.data`, ...). */
function fileBytes(path: string): number {
  const dir = dirname(path);
  const name = basename(path);
  let total = 0;
  try {
    for (const f of readdirSync(dir)) if (f === name || (f.startsWith(name) && /^[._]/.test(f.slice(name.length)))) total += statSync(join(dir, f)).size;
  } catch {
    // missing: openSession reports it
  }
  return total;
}
