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

/*
 * The thread's side. A thread must never be stopped while onnxruntime is inside a native call (a
 * run, or opening a session): that aborts the whole process, as a C++ exception escapes while the
 * isolate stops. So nothing here calls worker.terminate(): 'close' ends a thread from the inside.
 * Runs go one at a time from a queue; on 'close' the queued ones fail at once, the one under way
 * finishes, the session is released, and the thread ends by itself.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
let session = null;
let opening = null;
let closing = null;
let running = null;
const queue = [];
const plain = (names, meta) => names.map((name, i) => {
  const m = (meta && meta[i]) || {};
  return { name, type: m.type || 'unknown', shape: Array.isArray(m.shape) ? m.shape.slice() : [] };
});
const fail = (id, e) => parentPort.postMessage({ id, error: e && e.message ? e.message : String(e) });
async function run(m) {
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
}
async function pump() {
  while (queue.length && !running) {
    const m = queue.shift();
    running = run(m).catch((e) => fail(m.id, e));
    await running;
    running = null;
  }
}
async function close(id) {
  for (const m of queue.splice(0)) fail(m.id, new Error('released'));
  await opening;
  await running;
  const s = session;
  session = null;
  if (s) await s.release();
  parentPort.postMessage({ id, ok: true });
  parentPort.close();
}
parentPort.on('message', (m) => {
  if (m.kind === 'close') {
    closing = closing || close(m.id).catch((e) => fail(m.id, e));
  } else if (closing) {
    fail(m.id, new Error('released'));
  } else if (m.kind === 'open') {
    opening = ort.InferenceSession.create(m.path, m.options).then(
      (s) => {
        session = s;
        parentPort.postMessage({ id: m.id, ok: { inputs: plain(s.inputNames, s.inputMetadata), outputs: plain(s.outputNames, s.outputMetadata) } });
      },
      (e) => fail(m.id, e),
    );
  } else if (m.kind === 'run') {
    if (!session) return fail(m.id, new Error('the session is not open'));
    queue.push(m);
    void pump();
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

/** One started thread, and the calls waiting on it (settled when it answers or stops). */
interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
  ready: Promise<Signature>;
  /** Resolves when the thread has ended. */
  exited: Promise<void>;
  /** Set once its end is asked for. */
  closing?: Promise<void>;
}

/** One worker thread holding one session of the graph; started again on the next run if it stops. */
class GraphWorker {
  private thread: Thread | null = null;
  /** Threads asked to end that have not ended yet (release() waits for them all). */
  private readonly ending = new Set<Thread>();
  private nextId = 0;
  private released = false;
  /** The last start of the thread failed (the next run tries again). */
  failed = false;

  constructor(
    private readonly path: string,
    private readonly options: object,
  ) {}

  /** Runs in flight or queued on this worker. */
  get load(): number {
    return this.thread?.pending.size ?? 0;
  }

  /** Starts the thread and opens the session, unless that is done or under way. */
  open(): Promise<Signature> {
    if (this.released) return Promise.reject(new Error('released'));
    if (this.thread) return this.thread.ready;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ort: ORT_PATH }, name: 'groundstream-onnx' });
    const thread: Thread = {
      worker,
      pending: new Map(),
      ready: Promise.resolve({ inputs: [], outputs: [] }),
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
    };
    this.thread = thread;
    worker.unref(); // referenced only while a call waits, so an idle model never keeps the process alive
    worker.on('message', (m: Reply) => {
      const p = thread.pending.get(m.id);
      if (!p) return;
      thread.pending.delete(m.id);
      if (!thread.pending.size && !thread.closing) worker.unref();
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.ok);
    });
    const stopped = (why: string) => {
      if (this.thread === thread) this.thread = null;
      for (const p of thread.pending.values()) p.reject(new Error(`inference worker stopped: ${why}`));
      thread.pending.clear();
    };
    worker.on('error', (e) => stopped(e.message));
    worker.on('exit', (code) => stopped(this.released ? 'released' : `exit code ${code}`));
    // a reply that cannot be read leaves its caller unknown: end the thread, which fails them all
    worker.on('messageerror', () => void this.shutdown(thread));
    thread.ready = (this.call(thread, 'open', { path: this.path, options: this.options }) as Promise<Signature>).then(
      (sig) => {
        this.failed = false;
        return sig;
      },
      (e: unknown) => {
        this.failed = true;
        void this.shutdown(thread);
        throw e;
      },
    );
    return thread.ready;
  }

  async run(feeds: Record<string, TensorData>, fetch: readonly string[]): Promise<Record<string, unknown>> {
    await this.open();
    const thread = this.thread;
    if (!thread) throw new Error('inference worker stopped');
    return (await this.call(thread, 'run', { feeds, fetch })) as Record<string, unknown>;
  }

  /** Ends the thread (queued runs fail, the one under way finishes); later runs fail. Resolves once
   * every thread this worker started has ended, however often it is called. */
  async release(): Promise<void> {
    this.released = true;
    if (this.thread) void this.shutdown(this.thread);
    await Promise.all([...this.ending].map((t) => t.closing));
  }

  /** Asks a thread to end (once) and resolves when it has. */
  private shutdown(thread: Thread): Promise<void> {
    if (this.thread === thread) this.thread = null;
    thread.closing ??= (async () => {
      this.ending.add(thread);
      thread.worker.ref(); // until it has ended: whoever awaits release() is waiting on it
      try {
        await Promise.race([this.call(thread, 'close', {}).catch(() => {}), thread.exited]);
        await thread.exited;
      } finally {
        this.ending.delete(thread);
      }
    })();
    return thread.closing;
  }

  private call(thread: Thread, kind: string, body: object): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      try {
        thread.worker.postMessage({ id, kind, ...body });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e))); // e.g. an input that cannot be copied
        return;
      }
      thread.pending.set(id, { resolve, reject });
      thread.worker.ref();
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
  let next = 0;
  return {
    path,
    inputs: sig.inputs,
    outputs: sig.outputs,
    async run(feeds, fetch) {
      // the least busy worker, taking turns among equals; one whose thread would not start only
      // when every one is in that state (it tries again)
      next = (next + 1) % workers.length;
      let w: GraphWorker | null = null;
      for (let k = 0; k < workers.length; k++) {
        const x = workers[(next + k) % workers.length]!;
        if (!w || (w.failed && !x.failed) || (w.failed === x.failed && x.load < w.load)) w = x;
      }
      let out: Record<string, unknown>;
      try {
        out = await w!.run(feeds, fetch);
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
