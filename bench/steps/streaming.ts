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
import { decodeClip, FIXTURES, queries, QUERIES_8 } from '../lib/fixtures.js';
import { Harness, type WindowResult } from '../lib/harness.js';
import { fmt, fmtMeasure, measure, median, sleep, type Measure } from '../lib/stats.js';
import { check, type Chart, type StepContext, type StepResult, type Table, type Target } from '../lib/step.js';

interface Plan {
  /** Window length, s, for fast sources and for 30 fps ones (which need more frames). */
  window: number;
  window30: number;
  settle: number;
  aloneCalls: number;
  clients: number[];
  queries: number[];
  streams: number[];
  loads: { label: string; factor?: number; fps?: number }[];
}

const FULL: Plan = {
  window: 2,
  window30: 3,
  settle: 0.5,
  aloneCalls: 60,
  clients: [1, 10, 100, 200, 500],
  queries: [1, 8, 32, 128],
  streams: [1, 2, 4, 8],
  loads: [{ label: '30 fps', fps: 30 }, { label: '0.5x', factor: 0.5 }, { label: '0.9x', factor: 0.9 }, { label: '2x', factor: 2 }, { label: '4x', factor: 4 }],
};
const CI: Plan = {
  window: 0.3,
  window30: 0.5,
  settle: 0.1,
  aloneCalls: 5,
  clients: [1, 10],
  queries: [1, 8],
  streams: [1, 2],
  loads: [{ label: '30 fps', fps: 30 }, { label: '4x', factor: 4 }],
};

/** One stream's view of a window: rates, latency, and CPU per processed frame. */
function summarize(w: WindowResult, id: string) {
  const s = w.streams[id]!;
  return {
    fps: s.processed / w.seconds,
    offered: s.framesIn / w.seconds,
    p50: s.clients?.latency.p50 ?? NaN,
    p99: s.clients?.latency.p99 ?? NaN,
    results: s.clients?.results ?? 0,
    missed: s.clients?.missed ?? 0,
    errors: s.clients?.errors ?? 0,
    held: s.held,
    processed: s.processed,
    dropped: s.dropped,
    cpuPerFrame: w.cpuMs / Math.max(1, w.processed),
    loopP99: w.loopDelayP99,
    otherCpu: w.otherCpu * 100,
  };
}

type Summary = ReturnType<typeof summarize>;
const col = (rows: Summary[], k: keyof Summary, unit = '') => measure(rows.map((r) => r[k] as number), unit);
const point = (x: number, m: Measure) => ({ x, y: m.median, lo: m.min, hi: m.max });

export async function streamingStep(ctx: StepContext): Promise<StepResult> {
  const t0 = performance.now();
  const plan = ctx.ci ? CI : FULL;
  const R = ctx.runs;
  const model: GroundingModel = await loadModel();
  const S = model.info.imageSize;
  const clip = decodeClip(join(FIXTURES, 'clips/clip01-640x360.mp4'), S, 640, 360, 90);
  const h = await Harness.start(model, clip);
  const targets: Target[] = [];
  const tables: Table[] = [];
  const charts: Chart[] = [];
  const data: Record<string, unknown> = {};
  const errors: string[] = [];
  const noteErrors = (rows: Summary[], where: string) => {
    const n = rows.reduce((a, r) => a + r.errors, 0);
    if (n) errors.push(`${where}: ${n} error messages`);
  };
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

    // ---- load: latency and throughput against the source's rate ----
    const load = await h.addStream('load', 30);
    await h.connect('load', 1, 'load', QUERIES_8);
    const loadRows: { label: string; fps: number; alone: number[]; rows: Summary[] }[] = [];
    for (const level of plan.loads) {
      const fps = level.fps ?? level.factor! * capacity;
      load.setRate(fps);
      const entry = { label: level.label, fps, alone: [] as number[], rows: [] as Summary[] };
      for (let r = 0; r < R; r++) {
        load.pause();
        await sleep(30); // let the inference in flight finish
        entry.alone.push(await h.detectAlone(qs8, plan.aloneCalls));
        load.resume();
        await sleep(plan.settle * 1000);
        entry.rows.push(summarize(await h.window(level.fps ? plan.window30 : plan.window), 'load'));
      }
      noteErrors(entry.rows, `load ${level.label}`);
      loadRows.push(entry);
      const p = entry.rows;
      ctx.log(`load ${level.label} (${fmt(fps)} fps): ${fmt(median(p.map((x) => x.fps)))} frames/s, p50 ${fmt(median(p.map((x) => x.p50)))} ms, p99 ${fmt(median(p.map((x) => x.p99)))} ms`);
    }
    await h.disconnect('load');
    await h.removeStream('load');

    const at = (label: string) => loadRows.find((l) => l.label === label)!;
    const rt = at('30 fps');
    const over = at('4x');
    const aloneOf = (e: typeof rt) => measure(e.alone, 'ms');
    // model-bound: frames/s x detect time alone (1.0 = every moment spent in detect()).
    const bound = measure(over.rows.map((x, i) => (x.fps * over.alone[i]!) / 1000), 'x');
    const p50Slack = measure(rt.rows.map((x, i) => x.p50 - rt.alone[i]!), 'ms');
    const p99Slack = measure(rt.rows.map((x, i) => x.p99 - 2 * rt.alone[i]!), 'ms');
    const overP99 = measure(over.rows.map((x, i) => x.p99 / over.alone[i]!), 'x');
    const heldMax = Math.max(...over.rows.map((x) => x.held));
    // Latency trend while overloaded: later windows against earlier ones (a queue would grow it).
    const p50s = over.rows.map((x) => x.p50);
    const half = Math.max(1, Math.floor(p50s.length / 2));
    const earlier = median(p50s.slice(0, half));
    const later = median(p50s.slice(-half));
    const trend = later / earlier;
    const delivered = measure(over.rows.map((x) => x.results / Math.max(1, x.processed)), 'x');
    targets.push(
      check(5, 'model-bound throughput (source 4x faster than the model) vs 1 / detect() alone', bound.median, '>=', 0.9, `${fmtMeasure(bound)}x`, '≥ 0.9x'),
      check(5, 'latency at a 30 fps source: p50 − detect() alone', p50Slack.median, '<=', 5, `${fmtMeasure(p50Slack)} ms (p50 ${fmtMeasure(col(rt.rows, 'p50'))}, detect ${fmtMeasure(aloneOf(rt))} ms)`, '≤ 5 ms'),
      check(5, 'latency at a 30 fps source: p99 − 2 x detect() alone', p99Slack.median, '<=', 10, `${fmtMeasure(p99Slack)} ms (p99 ${fmtMeasure(col(rt.rows, 'p99'))} ms)`, '≤ 10 ms'),
      check(5, 'at 4x overload: p99 / detect() alone', overP99.median, '<=', 3, `${fmtMeasure(overP99)}x (p99 ${fmtMeasure(col(over.rows, 'p99'))} ms)`, '≤ 3x'),
      check(
        5,
        'at 4x overload: no queue growth (frames held by the pipeline; p50 of later windows vs earlier)',
        heldMax <= 2 && later <= 1.25 * earlier + 1 ? 1 : 0,
        '>=',
        1,
        `frames held ≤ ${heldMax}, p50 later/earlier windows ${fmt(trend)}x, results received / processed ${fmt(delivered.median)}`,
        'held ≤ 2, later p50 ≤ 1.25x earlier + 1 ms',
      ),
    );
    tables.push({
      title: 'Latency and throughput against load (1 stream, 1 client, 8 queries)',
      columns: ['source', 'offered frames/s', 'processed frames/s', 'dropped', 'p50 ms', 'p99 ms', 'detect() alone ms', 'server CPU ms/frame', 'event-loop p99 ms', "others' CPU"],
      rows: loadRows.map((l) => [
        l.label === '30 fps' ? '30 fps' : `${l.label} the model's rate`,
        fmtMeasure(col(l.rows, 'offered')),
        fmtMeasure(col(l.rows, 'fps')),
        `${fmt(median(l.rows.map((x) => (100 * x.dropped) / Math.max(1, x.processed + x.dropped))))}%`,
        fmtMeasure(col(l.rows, 'p50')),
        fmtMeasure(col(l.rows, 'p99')),
        fmtMeasure(measure(l.alone, 'ms')),
        fmtMeasure(col(l.rows, 'cpuPerFrame')),
        fmtMeasure(col(l.rows, 'loopP99')),
        `${fmt(col(l.rows, 'otherCpu').max)}%`,
      ]),
      note: `Latency is capture-to-client: the frame's due time at the source to the client's receipt of its detections (clients in another process, clocks aligned). Each run: detect() alone for ${plan.aloneCalls} calls with the source paused, then a ${plan.window30} s (30 fps) or ${plan.window} s window.`,
    });
    charts.push({
      file: 'latency-vs-load',
      title: 'Latency against load (1 stream, 8 queries)',
      xLabel: "source rate / model's rate (1 / detect time)",
      yLabel: 'capture-to-client latency, ms',
      series: [
        { name: 'p50', points: loadRows.map((l) => point(l.fps / capacity, col(l.rows, 'p50'))) },
        { name: 'p99', points: loadRows.map((l) => point(l.fps / capacity, col(l.rows, 'p99'))) },
        { name: 'detect() alone', points: loadRows.map((l) => point(l.fps / capacity, measure(l.alone, 'ms'))), dashed: true },
      ],
    });
    data.load = { detectAloneMs: detect8, detectAloneCpuMs: detect8Cpu, capacity, levels: loadRows.map((l) => ({ label: l.label, fps: l.fps, detectAloneMs: l.alone, runs: l.rows })) };

    // ---- clients: fan-out cost with the same queries ----
    await h.addStream('fan', 30);
    const clientRows: { clients: number; rows: Summary[] }[] = [];
    let open = 0;
    for (const n of plan.clients) {
      await h.connect('fan', n - open, 'fan', QUERIES_8);
      open = n;
      await sleep(1000 * Math.max(plan.settle, ctx.ci ? 0.1 : 1));
      const rows: Summary[] = [];
      for (let r = 0; r < R; r++) rows.push(summarize(await h.window(plan.window30), 'fan'));
      noteErrors(rows, `${n} clients`);
      clientRows.push({ clients: n, rows });
      ctx.log(`${n} clients: ${fmt(median(rows.map((x) => x.cpuPerFrame)))} ms CPU/frame, p99 ${fmt(median(rows.map((x) => x.p99)))} ms`);
    }
    await h.disconnect('fan');
    await h.removeStream('fan');
    const cpuOf = (n: number) => col(clientRows.find((c) => c.clients === n)?.rows ?? [], 'cpuPerFrame', 'ms');
    const fanN = plan.clients.includes(200) ? 200 : plan.clients.at(-1)!;
    const fan = measure(cpuOf(fanN).runs.map((v, i) => v / cpuOf(1).runs[i]!), 'x');
    targets.push(check(5, `fan-out: server CPU per frame, ${fanN} clients vs 1 (same queries, 30 fps)`, fan.median, '<=', 1.3, `${fmtMeasure(fan)}x (${fmt(cpuOf(fanN).median)} vs ${fmt(cpuOf(1).median)} ms)`, '≤ 1.3x'));
    tables.push({
      title: 'Clients (1 stream at 30 fps, every client the same 8 queries)',
      columns: ['clients', 'processed frames/s', 'server CPU ms/frame', 'vs 1 client', 'µs/frame per added client', 'results delivered', 'conflated', 'p50 ms', 'p99 ms', 'event-loop p99 ms', "others' CPU"],
      rows: clientRows.map((c) => [
        String(c.clients),
        fmtMeasure(col(c.rows, 'fps')),
        fmtMeasure(col(c.rows, 'cpuPerFrame')),
        `${fmt(col(c.rows, 'cpuPerFrame').median / cpuOf(1).median)}x`,
        c.clients > 1 ? fmt((1000 * (col(c.rows, 'cpuPerFrame').median - cpuOf(1).median)) / (c.clients - 1)) : '',
        `${fmt(median(c.rows.map((x) => (100 * x.results) / Math.max(1, x.processed * c.clients))))}%`,
        String(c.rows.reduce((a, x) => a + x.missed, 0)),
        fmtMeasure(col(c.rows, 'p50')),
        fmtMeasure(col(c.rows, 'p99')),
        fmtMeasure(col(c.rows, 'loopP99')),
        `${fmt(col(c.rows, 'otherCpu').max)}%`,
      ]),
      note:
        `Server CPU: process.cpuUsage() of the server process (onnxruntime's threads included; the clients run in another process) over ${plan.window30} s windows, divided by frames processed. ` +
        `For scale: detect() alone, back to back, costs ${fmtMeasure(detect8Cpu)} ms CPU a call. "results delivered": results received / (clients x frames processed).`,
    });
    charts.push({
      file: 'cost-vs-clients',
      title: 'Server CPU per frame against clients (30 fps, same queries)',
      xLabel: 'clients',
      yLabel: 'server CPU ms per frame',
      logX: true,
      series: [{ name: 'CPU ms/frame', points: clientRows.map((c) => point(c.clients, col(c.rows, 'cpuPerFrame'))) }],
    });
    data.clients = clientRows;

    // ---- queries: throughput against the number of queries ----
    const qsrc = await h.addStream('queries', 4 * capacity);
    const queryRows: { queries: number; alone: number[]; rows: Summary[] }[] = [];
    for (const n of plan.queries) {
      const texts = queries(n);
      const qs = await model.prepareQueries(texts);
      qsrc.pause();
      await h.detectAlone(qs, ctx.ci ? 2 : 10); // warm this query bucket's shapes
      await h.connect(`q${n}`, 1, 'queries', texts);
      const entry = { queries: n, alone: [] as number[], rows: [] as Summary[] };
      for (let r = 0; r < R; r++) {
        qsrc.pause();
        await sleep(30);
        entry.alone.push(await h.detectAlone(qs, Math.max(3, Math.round(plan.aloneCalls / Math.sqrt(n)))));
        qsrc.resume();
        await sleep(plan.settle * 1000);
        entry.rows.push(summarize(await h.window(plan.window), 'queries'));
      }
      await h.disconnect(`q${n}`);
      noteErrors(entry.rows, `${n} queries`);
      queryRows.push(entry);
      ctx.log(`${n} queries: ${fmt(median(entry.rows.map((x) => x.fps)))} frames/s, detect alone ${fmt(median(entry.alone))} ms`);
    }
    await h.removeStream('queries');
    tables.push({
      title: 'Queries (1 stream faster than the model, 1 client)',
      columns: ['queries', 'detect() alone ms', '1 / detect() frames/s', 'processed frames/s', 'vs 1 / detect()', 'p50 ms', 'p99 ms', "others' CPU"],
      rows: queryRows.map((q) => [
        String(q.queries),
        fmtMeasure(measure(q.alone, 'ms')),
        fmtMeasure(measure(q.alone.map((a) => 1000 / a), '/s')),
        fmtMeasure(col(q.rows, 'fps')),
        `${fmtMeasure(measure(q.rows.map((x, i) => (x.fps * q.alone[i]!) / 1000), 'x'))}x`,
        fmtMeasure(col(q.rows, 'p50')),
        fmtMeasure(col(q.rows, 'p99')),
        `${fmt(col(q.rows, 'otherCpu').max)}%`,
      ]),
      note: `The detector sees query counts padded to 4, 8, 16, 32, 64, 128. Source at ${fmt(4 * capacity)} frames/s (4x the 8-query rate).`,
    });
    charts.push({
      file: 'throughput-vs-queries',
      title: 'Throughput against queries (1 stream, 1 client)',
      xLabel: 'queries',
      yLabel: 'frames per second',
      logX: true,
      series: [
        { name: 'server, processed', points: queryRows.map((q) => point(q.queries, col(q.rows, 'fps'))) },
        { name: '1 / detect() alone', points: queryRows.map((q) => point(q.queries, measure(q.alone.map((a) => 1000 / a), '/s'))), dashed: true },
      ],
    });
    data.queries = queryRows;

    // ---- streams: 30 fps cameras sharing one model ----
    const streamRows: { streams: number; rows: { fps: number; offered: number; p50: number; p99: number; cpuPerFrame: number; otherCpu: number }[] }[] = [];
    let have = 0;
    for (const n of plan.streams) {
      for (; have < n; have++) {
        await h.addStream(`cam${have}`, 30);
        await h.connect(`cam${have}`, 1, `cam${have}`, QUERIES_8);
      }
      await sleep(1000 * Math.max(plan.settle, ctx.ci ? 0.1 : 1));
      const rows = [];
      for (let r = 0; r < R; r++) {
        const w = await h.window(plan.window30);
        const per = Object.keys(w.streams).map((id) => summarize(w, id));
        noteErrors(per, `${n} streams`);
        rows.push({
          fps: per.reduce((a, x) => a + x.fps, 0),
          offered: per.reduce((a, x) => a + x.offered, 0),
          p50: median(per.map((x) => x.p50)),
          p99: Math.max(...per.map((x) => x.p99)),
          cpuPerFrame: w.cpuMs / Math.max(1, w.processed),
          otherCpu: w.otherCpu * 100,
        });
      }
      streamRows.push({ streams: n, rows });
      ctx.log(`${n} streams: ${fmt(median(rows.map((x) => x.fps)))} of ${fmt(median(rows.map((x) => x.offered)))} frames/s, p99 ${fmt(median(rows.map((x) => x.p99)))} ms`);
    }
    for (let i = 0; i < have; i++) {
      await h.disconnect(`cam${i}`);
      await h.removeStream(`cam${i}`);
    }
    const sm = (rows: (typeof streamRows)[number]['rows'], k: 'fps' | 'offered' | 'p50' | 'p99' | 'cpuPerFrame' | 'otherCpu') => measure(rows.map((x) => x[k]), '');
    tables.push({
      title: `Streams (each a 30 fps source with 1 client, 8 queries; the model's rate is ${fmt(capacity)} frames/s)`,
      columns: ['streams', 'offered frames/s', 'processed frames/s', 'processed', 'p50 ms (median stream)', 'p99 ms (worst stream)', 'server CPU ms/frame', "others' CPU"],
      rows: streamRows.map((s) => [
        String(s.streams),
        fmtMeasure(sm(s.rows, 'offered')),
        fmtMeasure(sm(s.rows, 'fps')),
        `${fmt((100 * sm(s.rows, 'fps').median) / sm(s.rows, 'offered').median)}%`,
        fmtMeasure(sm(s.rows, 'p50')),
        fmtMeasure(sm(s.rows, 'p99')),
        fmtMeasure(sm(s.rows, 'cpuPerFrame')),
        `${fmt(sm(s.rows, 'otherCpu').max)}%`,
      ]),
      note: 'Streams share one model with concurrency 1: a frame waits while another stream\'s frame is in the model.',
    });
    charts.push({
      file: 'latency-vs-streams',
      title: 'Latency against streams (30 fps each, 8 queries)',
      xLabel: 'streams',
      yLabel: 'capture-to-client latency, ms',
      series: [
        { name: 'p50 (median stream)', points: streamRows.map((s) => point(s.streams, sm(s.rows, 'p50'))) },
        { name: 'p99 (worst stream)', points: streamRows.map((s) => point(s.streams, sm(s.rows, 'p99'))) },
      ],
    });
    data.streams = streamRows;
  } finally {
    await h.close();
    await model.close();
  }
  if (errors.length) throw new Error(`clients received errors: ${errors.join('; ')}`);
  return {
    name: 'streaming',
    title: 'Streaming (issue 5) and scaling',
    seconds: (performance.now() - t0) / 1000,
    targets,
    tables,
    charts,
    notes: [
      'Server: GroundstreamServer on 127.0.0.1 (port 0), the bundled model, concurrency 1, onnxruntime 2 intra-op threads; streams are synthetic sources (bench/lib/synthetic-source.ts) emitting pre-decoded 224x224 frames of fixtures/clips/clip01 at a set rate, stamped with their due time.',
      'Clients: real WebSockets (`ws`) in a separate process (bench/fleet/client-fleet.mjs), on the same 2 cores as the server.',
      "\"others' CPU\": the largest share of the machine's CPU that processes other than the server and its clients used during a window (above a few % the row is not clean).",
    ],
    data,
  };
}
