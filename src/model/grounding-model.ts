/** The interface every grounding model family implements; the pipeline and CLI use only this. */
import type { Detection } from '../domain/types.js';
import type { ImageInput } from './image-input.js';

export interface ModelInfo {
  name: string;
  family: string;
  /** Side of the square the graph takes. */
  imageSize: number;
  /** Default score threshold. */
  threshold: number;
  /** Default per-query NMS IoU, or null. */
  nmsIou: number | null;
  /** 'split': cached text embeddings + detector graph per frame; 'combined': one graph per frame. */
  mode: 'split' | 'combined';
  /** The execution providers its graphs run on: of those preferred, the first that could be used. */
  executionProviders: string[];
  /** The most distinct queries one detect() takes; absent: no limit. */
  maxQueries?: number;
  /** The resampling filter its preprocessing resizes images with (preprocessor_config.json's
   * `resample`), for those who resize for it (pushed frames). Absent: any. */
  resample?: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
  /** The lowest threshold it can answer, when it has one: a replay has nothing below the threshold
   * it was recorded at. A subscriber asking for less is refused. Absent: any. */
  minThreshold?: number;
}

/** A prepared, deduplicated, normalised set of queries, reusable across frames. */
export interface QuerySet {
  readonly texts: readonly string[];
}

export interface DetectOptions {
  /** Score threshold for every query (default: the model's). */
  threshold?: number;
  /** Per-query thresholds by normalised query text; they win over `threshold`. */
  thresholds?: Readonly<Record<string, number>>;
  /** NMS IoU per query; null turns NMS off (default: the model's). */
  nmsIou?: number | null;
  /** The most boxes a query yields, the highest scoring. Default DEFAULT_MAX_PER_QUERY (100, as
   * COCO's evaluation keeps per image): a threshold near 0 would otherwise yield a box for every
   * patch (784 a query on the bundled model, 3,600 on OWLv2), for every subscriber of the stream. */
  maxPerQuery?: number;
}

export const DEFAULT_MAX_PER_QUERY = 100;

export interface DetectResult {
  detections: Detection[];
  /** Size of the source image: boxes are in these pixels. */
  width: number;
  height: number;
  /** Milliseconds spent in each step. */
  timings: { preprocess: number; infer: number; postprocess: number };
}

export interface GroundingModel {
  readonly info: ModelInfo;
  /** Normalises, deduplicates and encodes queries (text embeddings are cached per query). */
  prepareQueries(texts: readonly string[]): Promise<QuerySet>;
  detect(image: ImageInput, queries: QuerySet | readonly string[], options?: DetectOptions): Promise<DetectResult>;
  /** The size a video source should decode to for this model, for a source of w x h. */
  workingSize(width: number, height: number): { width: number; height: number };
  close(): Promise<void>;
}
