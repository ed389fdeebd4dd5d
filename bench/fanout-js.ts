/**
 * The server's own JavaScript per client when one result goes to many: the real pipeline
 * (tracker, cohorts), client sessions, outboxes, result framing and FramedTarget, with a stub model
 * (fixed boxes drifting slowly) and sockets that take the frame and write nothing. What is left
 * out is exactly the socket write, which the streaming benchmark's "Fan-out floor" measures.
 *
 *   npx vite-node bench/fanout-js.ts [--clients 200] [--frames 3000] [--same-id]
 *
 * Prints µs per frame for 1 client and for N, three times, and the µs each added client costs.
 * --same-id: every client names its subscription `s1` (as SDK clients do), so they share frames.
 */
import { parseArgs } from 'node:util';
import { Subject } from 'rxjs';
import type { Frame } from '../src/domain/types.js';
import type { GroundingModel, QuerySet } from '../src/model/index.js';
import { Limiter } from '../src/pipeline/limiter.js';
import { StreamPipeline } from '../src/pipeline/stream-pipeline.js';
import { createClientMessageDecoder, resolveLimits } from '../src/protocol/index.js';
import { ClientSession, type SessionContext } from '../src/server/client-session.js';
import type { StreamManager } from '../src/server/streams.js';
import { framedTarget } from '../src/server/text-frames.js';
import { QUERIES_8 } from './lib/fixtures.js';

const { values: args } = parseArgs({
  options: { clients: { type: 'string', default: '200' }, frames: { type: 'string', default: '3000' }, 'same-id': { type: 'boolean', default: false } },
});
const N = Number(args.clients);
const FRAMES = Number(args.frames);

let frameNo = 0;
const model = {
  info: { name: 'stub', family: 'owlvit', imageSize: 224, threshold: 0.3, nmsIou: null, mode: 'split', executionProviders: ['cpu'] },
  async prepareQueries(texts: readonly string[]): Promise<QuerySet> {
    return { texts: [...new Set(texts)] } as QuerySet;
  },
  async detect(_image: unknown, q: QuerySet) {
    const x = frameNo * 0.5;
    const detections = q.texts.slice(0, 5).map((query, i) => ({ query, score: 0.6 + 0.01 * i, box: [10 + 50 * i + x, 20, 40 + 50 * i + x, 60] as [number, number, number, number] }));
    return { detections, width: 640, height: 360, timings: { preprocess: 0.2, infer: 2, postprocess: 0.02 } };
  },
  workingSize: () => ({ width: 224, height: 224 }),
  async close() {},
} as unknown as GroundingModel;

/** µs per result handed to `clients` clients, averaged over `frames` results. */
async function run(clients: number, frames: number): Promise<number> {
  const source = new Subject<Frame>();
  const pipeline = new StreamPipeline('fan', source, model, new Limiter(1));
  const limits = resolveLimits({});
  const entry = { pipeline, status: { state: 'live' }, source: {} };
  const streams = { get: () => entry, list: () => [], info: () => ({}) } as unknown as StreamManager;
  const sessions: ClientSession[] = [];
  for (let i = 0; i < clients; i++) {
    const ws = { extensions: "", readyState: 1, bufferedAmount: 0, send() {}, ping() {}, on() {}, terminate() {} };
    const raw = { writable: true, write: () => true, cork() {}, uncork() {} };
    const ctx: SessionContext = {
      clientId: `c${i}`,
      serverVersion: 'bench',
      instance: 'bench',
      model,
      streams,
      decode: createClientMessageDecoder(limits),
      limits,
      maxSubscriptions: 8,
      clientBufferBytes: 1 << 20,
      rights: new Set(['watch']),
      maxPushFps: 30,
    };
    const session = new ClientSession(ctx, framedTarget(ws as never, raw as never));
    await session.onText(JSON.stringify({ type: 'subscribe', id: args['same-id'] ? 's1' : `s${i}`, stream: 'fan', queries: QUERIES_8 }));
    sessions.push(session);
  }
  const data = new Uint8Array(224 * 224 * 3);
  let total = 0;
  for (let k = 0; k < frames; k++) {
    frameNo = k;
    const handed = new Promise<void>((resolve) => {
      const sub = pipeline.results$.subscribe(() => (sub.unsubscribe(), resolve()));
    });
    const t0 = process.hrtime.bigint();
    source.next({ streamId: 'fan', seq: k, pts: k / 30, capturedAt: Date.now(), width: 224, height: 224, data } as Frame);
    await handed; // results$ emits just before the hand-out, in the same pass: this returns after it,
    await null; // and this after the frames it queued were written (text-frames.ts)
    total += Number(process.hrtime.bigint() - t0);
  }
  pipeline.close();
  for (const s of sessions) s.close();
  return total / frames / 1000;
}

for (let r = 0; r < 3; r++) {
  const one = await run(1, FRAMES);
  const many = await run(N, FRAMES);
  console.log(`1 client ${one.toFixed(1)} µs/frame, ${N} clients ${many.toFixed(1)} µs/frame: ${((many - one) / (N - 1)).toFixed(2)} µs per added client`);
}
