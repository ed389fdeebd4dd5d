/**
 * OWL-ViT and OWLv2 behind the GroundingModel interface. With split graphs, each distinct query is
 * encoded once (LRU cache) and only the detector runs per frame; otherwise the combined graph runs.
 * The number of queries is padded up to a few fixed sizes so that onnxruntime sees few shapes.
 */
import { normalizeQuery } from '../../domain/query.js';
import { GroundstreamError } from '../../errors.js';
import { DEFAULT_MAX_PER_QUERY, type DetectOptions, type DetectResult, type GroundingModel, type ModelInfo, type QuerySet } from '../grounding-model.js';
import { prepareImage, type ImageInput, type PixelSpec } from '../image-input.js';
import type { ModelFolder } from '../model-folder.js';
import type { GraphSession, TensorData } from '../onnx-session.js';
import type { TextTokenizer } from '../text-tokenizer.js';
import { EmbeddingCache } from './embedding-cache.js';
import { decodeDetections } from './postprocess.js';
import { boxScale, resizeTarget } from './preprocess.js';

/** Query-count sizes the graphs see. */
export const QUERY_BUCKETS = [4, 8, 16, 32, 64, 128, 256] as const;

export function bucketFor(n: number): number {
  const b = QUERY_BUCKETS.find((x) => x >= n);
  if (b === undefined) throw new GroundstreamError('QUERY_INVALID', `${n} queries; at most ${QUERY_BUCKETS.at(-1)}`);
  return b;
}

export interface OwlLimits {
  /** Largest image accepted, in pixels. Default 40 megapixels. */
  maxPixels: number;
  /** Longest query, in characters. Default 256. */
  maxQueryLength: number;
  /** Text embeddings kept in the cache. Default 4096. */
  cacheSize: number;
}

interface OwlQuerySet extends QuerySet {
  readonly rows: number;
  /** Split mode: [rows, dim] text embeddings. */
  readonly embeds?: Float32Array;
  /** Combined mode: [rows, length] token ids and mask. */
  readonly ids?: BigInt64Array;
  readonly mask?: BigInt64Array;
  readonly length?: number;
}

export interface OwlGraphs {
  combined: GraphSession | null;
  textEncoder: GraphSession | null;
  detector: GraphSession | null;
}

export class OwlModel implements GroundingModel {
  readonly info: ModelInfo;
  private readonly spec: PixelSpec;
  private readonly cache: EmbeddingCache;
  private readonly free: Float32Array[] = [];
  /** Inferences run so far (for metrics and fan-out tests). */
  inferences = 0;

  constructor(
    private readonly folder: ModelFolder,
    private readonly tokenizer: TextTokenizer,
    private readonly graphs: OwlGraphs,
    private readonly limits: OwlLimits,
    executionProviders: string[],
  ) {
    const split = !!graphs.textEncoder && !!graphs.detector;
    this.info = {
      name: folder.name,
      family: folder.family,
      imageSize: folder.imageSize,
      threshold: folder.threshold,
      nmsIou: folder.nmsIou,
      mode: split ? 'split' : 'combined',
      executionProviders,
      maxQueries: QUERY_BUCKETS.at(-1)!,
      resample: folder.kernel,
    };
    this.spec = {
      family: folder.family,
      size: folder.imageSize,
      kernel: folder.kernel,
      mean: folder.mean,
      std: folder.std,
      maxPixels: limits.maxPixels,
    };
    this.cache = new EmbeddingCache(limits.cacheSize);
  }

  workingSize(width: number, height: number) {
    return resizeTarget(this.folder.family, this.folder.imageSize, width, height);
  }

  /** Normalised, deduplicated, validated query texts (in first-seen order). */
  normalize(texts: readonly string[]): string[] {
    if (!Array.isArray(texts) || texts.length === 0) throw new GroundstreamError('QUERY_EMPTY', 'at least one query is needed');
    const seen = new Set<string>();
    for (const t of texts) {
      if (typeof t !== 'string') throw new GroundstreamError('QUERY_INVALID', 'a query must be a string');
      // characters are code points, as the protocol counts them (an emoji is one, not two)
      if (t.length > this.limits.maxQueryLength && codePoints(t) > this.limits.maxQueryLength) {
        throw new GroundstreamError('QUERY_TOO_LONG', `${codePoints(t)} characters; at most ${this.limits.maxQueryLength}`);
      }
      const n = normalizeQuery(t);
      if (!n) throw new GroundstreamError('QUERY_INVALID', 'a query is empty');
      seen.add(n);
    }
    return [...seen];
  }

  async prepareQueries(texts: readonly string[]): Promise<OwlQuerySet> {
    const norm = this.normalize(texts);
    const rows = bucketFor(norm.length);
    if (this.info.mode === 'combined') {
      const b = this.tokenizer.encodeBatch(norm, rows);
      return { texts: norm, rows, ids: b.ids, mask: b.mask, length: b.length } satisfies OwlQuerySet;
    }
    // Rows the cache has are copied at once, before anything is awaited: the cache reuses an
    // evicted query's row for the next new one (another call may encode meanwhile).
    const c = this.cache;
    let embeds = c.dim ? new Float32Array(rows * c.dim) : null;
    const missing: number[] = [];
    for (let i = 0; i < norm.length; i++) if (!embeds || !c.copyTo(norm[i]!, embeds, i * c.dim)) missing.push(i);
    if (missing.length) {
      const texts = missing.map((i) => norm[i]!);
      const { data, dim } = await this.encode(texts);
      // (the width is the model's: a cache with rows in it has this one)
      embeds ??= new Float32Array(rows * dim);
      missing.forEach((i, j) => {
        embeds!.set(data.subarray(j * dim, (j + 1) * dim), i * dim);
        c.set(texts[j]!, data, j * dim, dim);
      });
    }
    return { texts: norm, rows, embeds: embeds! } satisfies OwlQuerySet;
  }

  /** The text encoder's embeddings of `texts`, row by row. */
  private async encode(texts: readonly string[]): Promise<{ data: Float32Array; dim: number }> {
    const rows = bucketFor(texts.length);
    const b = this.tokenizer.encodeBatch(texts, rows);
    const out = await this.graphs.textEncoder!.run(
      {
        input_ids: { type: 'int64', data: b.ids, dims: [rows, b.length] },
        attention_mask: { type: 'int64', data: b.mask, dims: [rows, b.length] },
      },
      ['text_embeds'],
    );
    const e = out.text_embeds!;
    return { data: e.data as Float32Array, dim: e.dims[e.dims.length - 1]! };
  }

  async detect(image: ImageInput, queries: QuerySet | readonly string[], options: DetectOptions = {}): Promise<DetectResult> {
    const qs = (isQuerySet(queries) ? queries : await this.prepareQueries(queries)) as OwlQuerySet;
    const size = this.folder.imageSize;
    const pixels = this.free.pop() ?? new Float32Array(3 * size * size);
    try {
      const t0 = performance.now();
      const { width, height } = await prepareImage(image, this.spec, pixels);
      const t1 = performance.now();
      const px: TensorData = { type: 'float32', data: pixels, dims: [1, 3, size, size] };
      let out;
      if (qs.embeds) {
        out = await this.graphs.detector!.run(
          { pixel_values: px, text_embeds: { type: 'float32', data: qs.embeds, dims: [qs.rows, qs.embeds.length / qs.rows] } },
          ['logits', 'pred_boxes'],
        );
      } else {
        const dims = [qs.rows, qs.length!];
        out = await this.graphs.combined!.run(
          {
            input_ids: { type: 'int64', data: qs.ids!, dims },
            attention_mask: { type: 'int64', data: qs.mask!, dims },
            pixel_values: px,
          },
          ['logits', 'pred_boxes'],
        );
      }
      this.inferences++;
      const t2 = performance.now();
      const logits = out.logits!;
      const boxes = out.pred_boxes!;
      const patches = logits.dims[1]!;
      if (logits.dims[2] !== qs.rows || boxes.dims[1] !== patches || boxes.dims[2] !== 4) {
        const graph = (this.graphs.detector ?? this.graphs.combined)!.path;
        throw new GroundstreamError(
          'MODEL_RUN_FAILED',
          `${graph}: outputs logits [${logits.dims}] and pred_boxes [${boxes.dims}] are not [1, P, ${qs.rows}] and [1, P, 4] for ${qs.rows} query rows`,
        );
      }
      const base = options.threshold ?? this.folder.threshold;
      const { sx, sy } = boxScale(this.folder.family, width, height);
      const detections = decodeDetections({
        logits: logits.data,
        boxes: boxes.data,
        patches,
        stride: qs.rows,
        queries: qs.texts,
        thresholds: qs.texts.map((t) => options.thresholds?.[t] ?? base),
        sx,
        sy,
        width,
        height,
        nmsIou: options.nmsIou === undefined ? this.folder.nmsIou : options.nmsIou,
        maxPerQuery: options.maxPerQuery ?? DEFAULT_MAX_PER_QUERY,
      });
      const t3 = performance.now();
      return { detections, width, height, timings: { preprocess: t1 - t0, infer: t2 - t1, postprocess: t3 - t2 } };
    } finally {
      this.free.push(pixels);
    }
  }

  /**
   * Runs the graphs once as every frame will (a blank image resized to S x S, one query padded to
   * the smallest query count), then forgets it: a graph that cannot take what groundstream feeds
   * fails here, at load, rather than on every frame. (One pixel in: under any pixel limit.)
   */
  async trialRun(): Promise<void> {
    try {
      await this.detect({ data: new Uint8Array(3), width: 1, height: 1 }, ['object']);
    } finally {
      this.cache.clear();
      this.inferences = 0;
    }
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.graphs).map((g: GraphSession | null) => g?.release()));
  }
}

function isQuerySet(q: QuerySet | readonly string[]): q is QuerySet {
  return !Array.isArray(q) && typeof q === 'object' && q !== null && 'texts' in q;
}

/** Code points in `s` (a surrogate pair is one). */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
