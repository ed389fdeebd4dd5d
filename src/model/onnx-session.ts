/**
 * The one door to onnxruntime-node: sessions, tensors and execution providers. Nothing else in
 * groundstream imports onnxruntime (onnx-workers.ts loads it inside its worker threads), so
 * swapping the runtime touches these two files alone.
 */
import * as ort from 'onnxruntime-node';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GroundstreamError, isGroundstreamError } from '../errors.js';
import { checkNotLfsPointer } from './lfs-pointer.js';
import { openWorkerSession } from './onnx-workers.js';

export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

/** Options for every session a model opens. */
export interface SessionOptions {
  /** Threads for one operator (intra-op). Default: 2 (this project's reference machine has 2 cores). */
  intraOpThreads?: number;
  /** Threads across operators. Default: 1. */
  interOpThreads?: number;
  /** Graph optimisation level. Default: 'all'. */
  graphOptimization?: GraphOptimization;
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']: the graph runs on the first
   * one that this onnxruntime-node build has and that opens it. Default: ['cpu']. */
  executionProviders?: string[];
  /**
   * Let onnxruntime's worker threads spin while waiting for work. Default false: a video server
   * runs the model 30 times a second with gaps between frames, and spinning threads then burn a
   * core each (measured here: 23-27 ms of CPU per frame with spinning, 4 ms without, same latency).
   */
  spinThreads?: boolean;
  /**
   * Run the graph on this many worker threads, each holding its own copy of it, instead of on the
   * calling thread. onnxruntime-node runs a session synchronously on the thread that calls it, so
   * with 0 (the default) the event loop waits out every inference and two runs never overlap;
   * with N, up to N runs go at once and the event loop stays free. Each run then costs a hop to
   * the worker and back (copying the inputs), measured in `npm run bench`.
   */
  workers?: number;
}

export type TensorType = 'float32' | 'int64' | 'int32' | 'bool' | 'float16' | 'uint8' | string;

/** What a graph declares about one of its inputs or outputs. Symbolic dims are strings. */
export interface TensorInfo {
  name: string;
  type: TensorType;
  shape: (number | string)[];
}

/** A tensor as groundstream passes it around: flat data plus dims. */
export interface TensorData {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}

export interface OutputTensor {
  data: Float32Array;
  dims: readonly number[];
}

/** An open ONNX graph. */
export interface GraphSession {
  readonly path: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** Runs the graph; returns only the outputs named in `fetch` (all float32 here). */
  run(feeds: Record<string, TensorData>, fetch: readonly string[]): Promise<Record<string, OutputTensor>>;
  release(): Promise<void>;
}

/** An open graph, and the execution provider it was opened with. */
export interface OpenedGraph extends GraphSession {
  /** The first of the preferred providers that could be used. */
  readonly provider: string;
  /** Why each provider preferred to it was not used, one line each ([] when the first one was). */
  readonly skippedProviders: readonly string[];
}

const KNOWN_PROVIDERS = new Set(['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu', 'xnnpack', 'openvino']);

/** Which execution providers this build of onnxruntime-node can use. */
export function availableProviders(): string[] {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends?.();
  return list ? list.map((b) => b.name) : ['cpu'];
}

function describe(meta: readonly unknown[] | undefined, names: readonly string[]): TensorInfo[] {
  return names.map((name, i) => {
    const m = (meta?.[i] ?? {}) as { name?: string; type?: string; shape?: (number | string)[] };
    return { name, type: m.type ?? 'unknown', shape: m.shape ?? [] };
  });
}

/** The graph file and its external data files (`model.onnx_data`, `model.onnx.data`, ...). */
export function graphFiles(path: string): string[] {
  const name = basename(path);
  try {
    return readdirSync(dirname(path))
      .filter((f) => f === name || (f.startsWith(name) && /^[._]/.test(f.slice(name.length))))
      .map((f) => join(dirname(path), f));
  } catch {
    return [];
  }
}

/** Checks the file and the provider names before anything is opened; returns the providers. */
function preflight(path: string, options: SessionOptions): string[] {
  if (!existsSync(path)) throw new GroundstreamError('MODEL_NOT_FOUND', path);
  for (const f of graphFiles(path)) checkNotLfsPointer(f);
  const providers = options.executionProviders ?? ['cpu'];
  if (!Array.isArray(providers) || !providers.length) throw new GroundstreamError('PROVIDER_UNAVAILABLE', 'no execution provider given');
  for (const p of providers) {
    if (!KNOWN_PROVIDERS.has(p)) {
      throw new GroundstreamError('PROVIDER_UNAVAILABLE', `unknown execution provider "${p}" (known: ${[...KNOWN_PROVIDERS].join(', ')})`);
    }
  }
  return providers;
}

/** onnxruntime's session options for ours (plain data: it also travels to worker threads). */
function ortSessionOptions(options: SessionOptions, providers: string[]): ort.InferenceSession.SessionOptions {
  const spin = options.spinThreads ? '1' : '0';
  return {
    intraOpNumThreads: options.intraOpThreads ?? 2,
    interOpNumThreads: options.interOpThreads ?? 1,
    graphOptimizationLevel: options.graphOptimization ?? 'all',
    executionProviders: providers,
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}

/** Where the CUDA provider's libraries come from, for the message when they are missing. */
const CUDA_HINT = "onnxruntime-node's CUDA libraries are not installed (this project's .npmrc skips their download): see docs/models.md, \"GPUs\"";

/** The error for a graph that onnxruntime would not open with `provider`. */
function loadError(path: string, provider: string, e: unknown): GroundstreamError {
  const msg = e instanceof Error ? e.message : String(e);
  if (provider !== 'cpu' && /provider|cuda|shared library/i.test(msg)) {
    const hint = (provider === 'cuda' || provider === 'tensorrt') && /shared library/i.test(msg) ? `; ${CUDA_HINT}` : '';
    return new GroundstreamError('PROVIDER_UNAVAILABLE', `${provider}: ${msg}${hint}`, { cause: e });
  }
  return new GroundstreamError('MODEL_LOAD_FAILED', `${path}: ${msg}`, { cause: e });
}

/**
 * Opens an ONNX file on the first of the preferred execution providers that works: one that this
 * onnxruntime-node build lacks, or whose libraries fail to load, is passed over (and said so in
 * `skippedProviders`). A missing file or a corrupt graph fails with its code at once;
 * PROVIDER_UNAVAILABLE only when no provider in the list could be used.
 */
export async function openSession(path: string, options: SessionOptions = {}): Promise<OpenedGraph> {
  const providers = preflight(path, options);
  const workers = options.workers ?? 0;
  if (!(Number.isInteger(workers) && workers >= 0 && workers <= 64)) {
    throw new GroundstreamError('CONFIG_INVALID', `workers must be a whole number from 0 to 64, not ${workers}`);
  }
  const available = availableProviders();
  const skipped: string[] = [];
  for (const provider of providers) {
    if (!available.includes(provider)) {
      skipped.push(`${provider}: not in this onnxruntime-node build (it has ${available.join(', ')})`);
      continue;
    }
    try {
      const opened = workers > 0
        ? await openWorkerSession(path, ortSessionOptions(options, [provider]), workers, (e) => loadError(path, provider, e))
        : await openHere(path, options, provider);
      return { ...opened, provider, skippedProviders: skipped };
    } catch (e) {
      if (!isGroundstreamError(e, 'PROVIDER_UNAVAILABLE')) throw e;
      skipped.push(e.detail);
    }
  }
  const which = providers.length === 1 ? providers[0] : `none of ${providers.join(', ')}`;
  throw new GroundstreamError('PROVIDER_UNAVAILABLE', `${which} could not be used for ${path}: ${skipped.join('; ')}`);
}

/** Opens a session on the calling thread. */
async function openHere(path: string, options: SessionOptions, provider: string): Promise<GraphSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, ortSessionOptions(options, [provider]));
  } catch (e) {
    throw loadError(path, provider, e);
  }
  const s = session as ort.InferenceSession & { inputMetadata?: unknown[]; outputMetadata?: unknown[] };
  const inputs = describe(s.inputMetadata, session.inputNames);
  const outputs = describe(s.outputMetadata, session.outputNames);
  return {
    path,
    inputs,
    outputs,
    async run(feeds, fetch) {
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        const ortFeeds: Record<string, ort.Tensor> = {};
        for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(t.type, t.data, t.dims);
        out = await session.run(ortFeeds, fetch as string[]);
      } catch (e) {
        throw new GroundstreamError('MODEL_RUN_FAILED', `${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      return pickOutputs(path, fetch, (name) => out[name] as ort.Tensor | undefined);
    },
    release: () => session.release(),
  };
}

/** The fetched outputs, each required to be float32. */
export function pickOutputs(
  path: string,
  fetch: readonly string[],
  get: (name: string) => { type: string; data: unknown; dims: readonly number[] } | undefined,
): Record<string, OutputTensor> {
  const result: Record<string, OutputTensor> = {};
  for (const name of fetch) {
    const t = get(name);
    if (!t || t.type !== 'float32' || !(t.data instanceof Float32Array)) {
      throw new GroundstreamError('MODEL_RUN_FAILED', `${path}: output "${name}" missing or not float32`);
    }
    result[name] = { data: t.data, dims: t.dims };
  }
  return result;
}
