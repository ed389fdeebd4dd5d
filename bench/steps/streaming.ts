/**
 * Issue 5, streaming, and the scaling curves of issue 10, on the real server over real sockets:
 * synthetic sources (pre-decoded frames at a set rate) so that load is exact and decoding costs
 * nothing, clients in their own process, model capacity fixed (1 inference at a time, 2 threads).
 *
 * - load: one stream, one client, 8 queries; source at 30 fps, then 0.5x to 4x the model's rate.
 *   Each run first times detect() alone (source paused), so ratios pair like with like.
 * - clients: one 30 fps stream, 1 to 500 clients with the same 8 queries: server CPU per frame.
 * - queries: one stream faster than the model, one client with 1 to 128 queries.
 * - streams: 1 to 8 streams at 30 fps, one client each.
 */
import { join } from 'node:path';
import { loadModel, type GroundingModel } from '../../src/model/index.js';
import { decodeClip, FIXTURES, QUERIES_8 } from '../lib/fixtures.js';
import { Harness } from '../lib/harness.js';
import { fmt, measure } from '../lib/stats.js';
import type { StepContext, StepResult } from '../lib/step.js';
import { clientsSection } from './streaming/clients.js';
import { loadSection } from './streaming/load.js';
import { CI, FULL, type Section, type Summary } from './streaming/plan.js';
import { queriesSection } from './streaming/queries.js';
import { streamsSection } from './streaming/streams.js';

export async function streamingStep(ctx: StepContext): Promise<StepResult> {
  const t0 = performance.now();
  const plan = ctx.ci ? CI : FULL;
  const R = ctx.runs;
  const model: GroundingModel = await loadModel();
  const S = model.info.imageSize;
  const clip = decodeClip(join(FIXTURES, 'clips/clip01-640x360.mp4'), S, 640, 360, 90);
  const h = await Harness.start(model, clip);
  const errors: string[] = [];
  const out = { targets: [], tables: [], charts: [], data: {} } as Pick<Section, 'targets' | 'tables' | 'charts' | 'data'>;
  try {
    const qs8 = await model.prepareQueries(QUERIES_8);
    await h.detectAlone(qs8, ctx.ci ? 3 : 40); // warm-up
    const alone8: number[] = [];
    const alone8Cpu: number[] = [];
    for (let r = 0; r < R; r++) alone8.push(await h.detectAlone(qs8, plan.aloneCalls, alone8Cpu));
    const detect8 = measure(alone8, 'ms');
    const detect8Cpu = measure(alone8Cpu, 'ms');
    const capacity = 1000 / detect8.median;
    ctx.log(`detect() alone, 8 queries: ${fmt(detect8.median)} ms, ${fmt(detect8Cpu.median)} ms CPU (capacity ${fmt(capacity)} frames/s)`);
    const section: Section = {
      ctx,
      plan,
      runs: R,
      h,
      model,
      qs8,
      detect8,
      detect8Cpu,
      capacity,
      ...out,
      noteErrors: (rows: Summary[], where: string) => {
        const n = rows.reduce((a, r) => a + r.errors, 0);
        if (n) errors.push(`${where}: ${n} error messages`);
      },
    };
    // BENCH_SECTIONS=clients,queries runs only those (a quicker look at one of them).
    const sections = { load: loadSection, clients: clientsSection, queries: queriesSection, streams: streamsSection };
    const only = process.env.BENCH_SECTIONS?.split(',') ?? Object.keys(sections);
    for (const name of only) {
      const run = sections[name as keyof typeof sections];
      if (!run) throw new Error(`BENCH_SECTIONS: no section ${name} (${Object.keys(sections).join(', ')})`);
      await run(section);
    }
  } finally {
    await h.close();
    await model.close();
  }
  if (errors.length) throw new Error(`clients received errors: ${errors.join('; ')}`);
  return {
    name: 'streaming',
    title: 'Streaming (issue 5) and scaling',
    seconds: (performance.now() - t0) / 1000,
    ...out,
    notes: [
      'Server: GroundstreamServer on 127.0.0.1 (port 0), the bundled model, concurrency 1, onnxruntime 2 intra-op threads; streams are synthetic sources (bench/lib/synthetic-source.ts) emitting pre-decoded 224x224 frames of fixtures/clips/clip01 at a set rate, stamped with their due time.',
      "Clients: real WebSockets (`ws`) in a separate process (bench/fleet/client-fleet.mjs), on the same 2 cores as the server. They answer the protocol's `ping` as the protocol asks and the SDK does, so the server's lag probes go to them as such pings and come back as `pong` messages (two a second per client; docs/protocol.md, Back-pressure).",
      "\"others' CPU\": the largest share of the machine's CPU that processes other than the server and its clients used during a window (above a few % the row is not clean).",
    ],
  };
}
