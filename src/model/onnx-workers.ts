/**
 * Graphs run on worker threads. onnxruntime-node runs a session synchronously on the thread that
 * calls `run`, so a graph opened on the main thread stops the event loop for every inference and
 * never overlaps another. Here each worker thread holds its own session of the graph; a run goes to
 * the least busy worker, its inputs are copied over, its outputs are moved back.
 *
 * The worker's code is a string (it loads onnxruntime-node by its resolved path), so it runs the
 * same from built JavaScript, from TypeScript under a loader, and from a bundle.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { GroundstreamError } from '../errors.js';
import { pickOutputs, type GraphSession, type TensorData, type TensorInfo } from './onnx-session.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
let session = null;
const plain = (names, meta) => names.map((name, i) => {
  const m = (meta && meta[i]) || {};
  return { name, type: m.type || 'unknown', shape: Array.isArray(m.shape) ? m.shape.slice() : [] };
});
parentPort.on('message', async (m) => {
  try {
    if (m.kind === 'open') {
      session = await ort.InferenceSession.create(m.path, m.options);
      parentPort.postMessage({ id: m.id, ok: { inputs: plain(session.inputNames, session.inputMetadata), outputs: plain(session.outputNames, session.outputMetadata) } });
    } else if (m.kind === 'run') {
      const feeds = {};
      for (const [k, t] of Object.entries(m.feeds)) feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await session.run(feeds, m.fetch);
      const ok = {};
      for (const name of m.fetch) {
        const t = out[name];
        ok[name] = t ? { type: t.type, data: t.data, dims: t.dims.slice() } : undefined;
      }
      const buffers = Object.values(ok).filter(Boolean).map((t) => t.data.buffer);
      try {
        parentPort.postMessage({ id: m.id, ok }, buffers);
      } catch {
        parentPort.postMessage({ id: m.id, ok }); // buffers onnxruntime will not let go of: copied
      }
    } else if (m.kind === 'release') {
      if (session) await session.release();
      session = null;
      parentPort.postMessage({ id: m.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: e && e.message ? e.message : String(e) });
  }
});
`;

const ORT_PATH = createRequire(import.meta.url).resolve('onnxruntime-node');

interface Reply {
  id: number;
  ok?: unknown;
  error?: string;
}

interface Signature {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/** One worker thread holding one session of the graph. */
class GraphWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private opening: Promise<Signature> | null = null;

  constructor(
    private readonly path: string,
    private readonly options: object,
  ) {}

  /** Runs in flight or queued on this worker. */
  get load(): number {
    return this.pending.size;
  }

  /** Starts the thread and opens the session (again, after the thread stopped). */
  open(): Promise<Signature> {
    if (this.worker && this.opening) return this.opening;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ort: ORT_PATH }, name: 'groundstream-onnx' });
    this.worker = worker;
    worker.unref();
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (!this.pending.size) worker.unref();
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.ok);
    });
    const stopped = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.opening = null;
      const err = new Error(`inference worker stopped: ${why}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (e) => stopped(e.message));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    this.opening = this.call('open', { path: this.path, options: this.options }) as Promise<Signature>;
    return this.opening;
  }

  async run(feeds: Record<string, TensorData>, fetch: readonly string[]): Promise<Record<string, unknown>> {
    if (!this.worker) await this.open();
    else await this.opening;
    return (await this.call('run', { feeds, fetch })) as Record<string, unknown>;
  }

  async release(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    try {
      await this.call('release', {});
    } finally {
      this.worker = null;
      this.opening = null;
      await worker.terminate();
    }
  }

  private call(kind: string, body: object): Promise<unknown> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('inference worker stopped'));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, kind, ...body });
    });
  }
}

/** Opens `path` on `count` worker threads; fails as opening it on this thread would. */
export async function openWorkerSession(
  path: string,
  options: object,
  count: number,
  loadError: (e: unknown) => GroundstreamError,
): Promise<GraphSession> {
  const workers = Array.from({ length: count }, () => new GraphWorker(path, options));
  let sig: Signature;
  try {
    [sig] = (await Promise.all(workers.map((w) => w.open()))) as [Signature];
  } catch (e) {
    await Promise.allSettled(workers.map((w) => w.release()));
    throw loadError(e);
  }
  return {
    path,
    inputs: sig.inputs,
    outputs: sig.outputs,
    async run(feeds, fetch) {
      let w = workers[0]!;
      for (const x of workers) if (x.load < w.load) w = x;
      let out: Record<string, unknown>;
      try {
        out = await w.run(feeds, fetch);
      } catch (e) {
        throw new GroundstreamError('MODEL_RUN_FAILED', `${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      return pickOutputs(path, fetch, (name) => out[name] as { type: string; data: unknown; dims: number[] } | undefined);
    },
    release: async () => {
      await Promise.allSettled(workers.map((w) => w.release()));
    },
  };
}
