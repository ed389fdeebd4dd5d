/**
 * Opens a model folder: reads its files, opens its graphs, checks their signatures and the dims
 * they fix against what will be fed, logs them, and runs them once on a blank image.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GroundstreamError, isGroundstreamError } from '../errors.js';
import type { GroundingModel } from './grounding-model.js';
import { readModelFolder, type ModelFolder } from './model-folder.js';
import { graphFiles, openSession, type OpenedGraph, type SessionOptions } from './onnx-session.js';
import { OwlModel, QUERY_BUCKETS, type OwlLimits } from './owl/owl-model.js';
import { checkFeeds, checkSignature, formatSignature, type FeedDim, type FeedSpec, type TensorSpec } from './signature.js';
import { TextTokenizer } from './text-tokenizer.js';

/** The bundled shapes-world model, shipped in the package's models/ folder. */
export const BUNDLED_MODEL_DIR = fileURLToPath(new URL('../../models/shapes-owl', import.meta.url));

export interface LoadOptions extends Partial<OwlLimits> {
  /** Another combined graph in onnx/: its file name ('model_quantized.onnx'), the name without
   * `.onnx`, or what follows `model_` ('quantized'). Split graphs are not used with a variant. */
  variant?: string;
  /** Prefer the combined graph even when split graphs exist. Default false. */
  forceCombined?: boolean;
  /** The default score threshold, in [0, 1]. Default: the model's (config.json
   * groundstream.threshold, else 0.1). */
  threshold?: number;
  /** The default per-query NMS IoU, in (0, 1], or null for none. Default: the model's
   * (config.json groundstream.nms_iou, else none). */
  nmsIou?: number | null;
  /** Session options; `workers: 'auto'` puts a per-frame graph over AUTO_WORKER_BYTES on one
   * worker thread and runs a smaller one on the calling thread. */
  session?: Omit<SessionOptions, 'workers'> & { workers?: number | 'auto' };
  /** The size above which `workers: 'auto'` uses a worker. Default AUTO_WORKER_BYTES. */
  autoWorkerBytes?: number;
  /** Receives one line per opened graph (names, types, shapes), and which execution provider was
   * used when it was not the first one preferred. */
  log?: (message: string) => void;
  /** Receives what an operator should hear of (a preferred execution provider that could not be
   * used); `log` when absent. */
  warn?: (message: string) => void;
}

/** Per-frame graphs bigger than this run on a worker with `workers: 'auto'`: such a model takes
 * long enough per frame (an OWL-ViT B/32 is 580 MB and takes hundreds of ms on a CPU) that holding
 * the event loop for it stalls every client, and the hop (0.4-0.5 ms here) is lost in it; a small one,
 * like the bundled 2 MB detector, runs faster where it is. */
export const AUTO_WORKER_BYTES = 32 * 2 ** 20;

// Names, types and ranks; the dims groundstream feeds are checked by `feedSpecs`.
const TEXT_IN: TensorSpec[] = [
  { name: 'input_ids', type: 'int64', dims: [null, null] },
  { name: 'attention_mask', type: 'int64', dims: [null, null] },
];
const PIXELS_IN: TensorSpec = { name: 'pixel_values', type: 'float32', dims: [null, 3, null, null] };
const EMBEDS: TensorSpec = { name: 'text_embeds', type: 'float32', dims: [null, null] };
const OUT: TensorSpec[] = [
  { name: 'logits', type: 'float32', dims: [null, null, null] },
  { name: 'pred_boxes', type: 'float32', dims: [null, null, 4] },
];

/** Where the image size and the text length fed come from, in words. */
function origins(folder: ModelFolder): { size: string; length: string } {
  const { config, preprocessor, maxPositionEmbeddings } = folder.sources;
  return {
    size: `${preprocessor} "size"`,
    length: maxPositionEmbeddings !== null ? `${config} text_config.max_position_embeddings` : `the default (${config} has no text_config.max_position_embeddings)`,
  };
}

/** What groundstream feeds each graph and reads from it, dim by dim. */
function feedSpecs(folder: ModelFolder) {
  const S = folder.imageSize;
  const L = folder.maxTextLength;
  const from = origins(folder);
  const rows: FeedDim = {
    values: QUERY_BUCKETS,
    what: `${QUERY_BUCKETS.join(', ')} query rows (queries are padded up to one of these counts)`,
    fix: () => 'export the graph with a symbolic (dynamic) text batch axis',
  };
  const tokens: FeedDim = { values: [L], what: `${L} tokens per query (${from.length})`, fix: (n) => `set text_config.max_position_embeddings to ${n} in config.json` };
  const side: FeedDim = { values: [S], what: `${S}x${S} images (${from.size})`, fix: (n) => `set "size" to ${n} in ${folder.sources.preprocessor}` };
  const one: FeedDim = { values: [1], what: 'one image at a time', fix: () => 'export the graph with an image batch of 1 or a symbolic one' };
  const text: FeedSpec[] = TEXT_IN.map((t) => ({ kind: 'input', name: t.name, dims: [rows, tokens] }));
  const detect: FeedSpec[] = [
    { kind: 'input', name: 'pixel_values', dims: [one, null, side, side] },
    { kind: 'output', name: 'logits', dims: [one, null, rows] },
  ];
  return {
    combined: [...text, ...detect],
    textEncoder: [...text, { kind: 'output', name: 'text_embeds', dims: [rows, null] }] as FeedSpec[],
    detector: [...detect, { kind: 'input', name: 'text_embeds', dims: [rows, null] }] as FeedSpec[],
  };
}

export async function loadModel(dir: string = BUNDLED_MODEL_DIR, options: LoadOptions = {}): Promise<GroundingModel> {
  checkDefaults(options);
  const read = readModelFolder(dir, options.variant);
  const folder: ModelFolder = {
    ...read,
    threshold: options.threshold ?? read.threshold,
    nmsIou: options.nmsIou === undefined ? read.nmsIou : options.nmsIou,
  };
  const tokenizer = new TextTokenizer(folder.tokenizerJson, folder.tokenizerConfig, folder.maxTextLength);
  const feeds = feedSpecs(folder);
  const opened: OpenedGraph[] = [];
  const useSplit = !options.forceCombined && folder.files.textEncoder && folder.files.detector;
  const perFrameGraph = useSplit ? folder.files.detector! : folder.files.combined;
  const asked = options.session?.workers ?? 0;
  const workers = asked === 'auto' ? (perFrameGraph && fileBytes(perFrameGraph) > (options.autoWorkerBytes ?? AUTO_WORKER_BYTES) ? 1 : 0) : asked;
  // once a provider has been passed over for one graph, the next graph does not try it again
  let providers = options.session?.executionProviders ?? ['cpu'];
  // The text encoder runs once per new query, so one worker (if any) is enough for it.
  const open = async (path: string, inputs: TensorSpec[], outputs: TensorSpec[], fed: FeedSpec[], perFrame = true) => {
    const n = perFrame ? workers : Math.min(workers, 1); // a bad value (NaN, -1) goes on to openSession, which names it
    const s = await openSession(path, { ...options.session, executionProviders: providers, workers: n });
    opened.push(s);
    providers = providers.slice(providers.indexOf(s.provider));
    const where = n === 0 ? '' : ` on ${n} worker thread${n > 1 ? 's' : ''}`;
    options.log?.(`opened ${path}${where}: ${formatSignature(s.inputs, s.outputs)}`);
    if (s.skippedProviders.length) (options.warn ?? options.log)?.(`${path} runs on execution provider ${s.provider}, not ${s.skippedProviders.join('; ')}`);
    checkSignature(path, s.inputs, s.outputs, inputs, outputs);
    checkFeeds(path, s.inputs, s.outputs, fed);
    return s;
  };
  try {
    const graphs = useSplit
      ? {
          combined: null,
          textEncoder: await open(folder.files.textEncoder!, TEXT_IN, [EMBEDS], feeds.textEncoder, false),
          detector: await open(folder.files.detector!, [PIXELS_IN, EMBEDS], OUT, feeds.detector),
        }
      : {
          combined: await open(
            folder.files.combined ?? (() => { throw new GroundstreamError('MODEL_NOT_FOUND', `${dir}/onnx/model.onnx (the combined graph; this folder has only split graphs)`); })(),
            [...TEXT_IN, PIXELS_IN],
            OUT,
            feeds.combined,
          ),
          textEncoder: null,
          detector: null,
        };
    const model = new OwlModel(
      folder,
      tokenizer,
      graphs,
      {
        maxPixels: options.maxPixels ?? 40_000_000,
        maxQueryLength: options.maxQueryLength ?? 256,
        cacheSize: options.cacheSize ?? 4096,
      },
      [...new Set(opened.map((s) => s.provider))],
    );
    try {
      await model.trialRun();
    } catch (e) {
      throw trialError(e, folder, graphs.textEncoder?.path ?? null);
    }
    return model;
  } catch (e) {
    await Promise.all(opened.map((s) => s.release()));
    throw e;
  }
}

/** The defaults a caller may set instead of the model's, checked. */
function checkDefaults(o: LoadOptions): void {
  if (o.threshold !== undefined && !(typeof o.threshold === 'number' && o.threshold >= 0 && o.threshold <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `threshold must be in [0, 1], got ${o.threshold}`);
  }
  if (o.nmsIou !== undefined && o.nmsIou !== null && !(typeof o.nmsIou === 'number' && o.nmsIou > 0 && o.nmsIou <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `NMS IoU must be in (0, 1] or off, got ${o.nmsIou}`);
  }
}

/**
 * A graph that takes the dims groundstream feeds can still fail inside: a graph exported for
 * 768 x 768 images declares its height and width symbolic, and then fails on a 960 x 960 image in
 * its position embeddings. The trial run at load finds that once, as MODEL_SIGNATURE with what to
 * check, instead of every frame failing with onnxruntime's words alone.
 */
function trialError(e: unknown, folder: ModelFolder, textEncoder: string | null): unknown {
  if (!isGroundstreamError(e, 'MODEL_RUN_FAILED')) return e;
  // outputs of the wrong shape: our own words already say what is wrong
  if (/: outputs logits \[/.test(e.detail)) return new GroundstreamError('MODEL_SIGNATURE', `a trial run at load: ${e.detail}`, { cause: e });
  // anything but sizes that do not fit (out of memory, a worker that died, a GPU library that
  // loads only at the first run) is no signature problem: said as it is
  if (!SHAPE_TROUBLE.test(e.detail)) return new GroundstreamError('MODEL_RUN_FAILED', `a trial run at load failed: ${e.detail}`, { cause: e });
  const S = folder.imageSize;
  const L = folder.maxTextLength;
  const v = folder.sources.visionImageSize;
  const from = origins(folder);
  const image = `set ${from.size} to the image size the graph was exported for (it is ${S}${v !== null && v !== S ? `, while config.json vision_config.image_size says ${v}` : ''})`;
  const text = `set config.json text_config.max_position_embeddings to the text length the graph was exported for (${L} tokens are fed, from ${from.length})`;
  // which graph failed: with split graphs, the text encoder sees only the queries
  const graph = [textEncoder, folder.files.detector, folder.files.combined].find((p) => p !== null && e.detail.startsWith(`${p}: `));
  const hint = textEncoder === null ? `${image}; or ${text}` : graph === textEncoder ? text : image;
  const said = graph ? e.detail.slice(graph.length + 2) : e.detail;
  return new GroundstreamError('MODEL_SIGNATURE', `${graph ?? folder.dir}: a trial run at load (one ${S}x${S} image, one query) failed: ${hint}. onnxruntime said: ${said}`, { cause: e });
}

/** onnxruntime's words for tensors whose sizes do not fit. */
const SHAPE_TROUBLE = /broadcast|dimension|\bdims?\b|shape|Got: ?\d+ Expected: ?\d+|invalid rank|incompatible|mismatch/i;

/** A graph's size with its external data files (`model.onnx_data`, `model.onnx.data`, ...); a
 * file that cannot be read counts as nothing (opening the graph says what is wrong with it). */
function fileBytes(path: string): number {
  return graphFiles(path).reduce((total, f) => {
    try {
      return total + statSync(f).size;
    } catch {
      return total;
    }
  }, 0);
}
