/** Latency and throughput against the source's rate (1 stream, 1 client, 8 queries), and the issue-5 targets. */
import { join } from 'node:path';
import { FIXTURES, QUERIES_8 } from '../../lib/fixtures.js';
import { fmt, fmtMeasure, measure, median, sleep } from '../../lib/stats.js';
import { check } from '../../lib/step.js';
import { col, point, summarize, type Section, type Summary } from './plan.js';

export async function loadSection(s: Section): Promise<void> {
  const { h, plan, runs: R, qs8, detect8, detect8Cpu, capacity, targets, tables, charts, data, noteErrors } = s;
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
      entry.rows.push(summarize(await h.window(level.window ?? (level.fps ? plan.window30 : plan.window)), 'load'));
    }
    noteErrors(entry.rows, `load ${level.label}`);
    loadRows.push(entry);
    const p = entry.rows;
    s.ctx.log(`load ${level.label} (${fmt(fps)} fps): ${fmt(median(p.map((x) => x.fps)))} frames/s, p50 ${fmt(median(p.map((x) => x.p50)))} ms, p99 ${fmt(median(p.map((x) => x.p99)))} ms`);
  }
  // Sustained overload: 4x without a pause, in back-to-back slices. A queue
  // anywhere (pipeline, server, sockets) would show as latency rising slice after slice.
  load.setRate(4 * capacity);
  const sustained: Summary[] = [];
  for (let k = 0; k < plan.sustained.slices; k++) sustained.push(summarize(await h.window(plan.sustained.slice), 'load'));
  noteErrors(sustained, 'sustained overload');
  await h.disconnect('load');
  await h.removeStream('load');

  // The same 30 fps clip as a real source: ffmpeg decodes it at its own rate beside the model
  // (the server's FfmpegSource). detect() alone is timed while it decodes and nobody watches.
  const rt0 = plan.loads.find((l) => l.fps === 30)!;
  const rtWindow = rt0.window ?? plan.window30;
  await h.addFileStream('file', join(FIXTURES, 'clips/clip01-640x360.mp4'));
  const file = { alone: [] as number[], rows: [] as Summary[] };
  for (let r = 0; r < R; r++) {
    file.alone.push(await h.detectAlone(qs8, plan.aloneCalls));
    await h.connect('file', 1, 'file', QUERIES_8);
    await sleep(plan.settle * 1000);
    file.rows.push(summarize(await h.window(rtWindow), 'file'));
    await h.disconnect('file');
  }
  await h.removeStream('file');
  noteErrors(file.rows, 'ffmpeg source');
  s.ctx.log(`30 fps through ffmpeg: ${fmt(median(file.rows.map((x) => x.fps)))} frames/s, p50 ${fmt(median(file.rows.map((x) => x.p50)))} ms, p99 ${fmt(median(file.rows.map((x) => x.p99)))} ms`);

  const at = (label: string) => loadRows.find((l) => l.label === label)!;
  const rt = at('30 fps');
  const over = at('4x');
  const aloneOf = (e: typeof rt) => measure(e.alone, 'ms');
  // model-bound: frames/s x detect time alone (1.0 = every moment spent in detect()).
  const bound = measure(over.rows.map((x, i) => (x.fps * over.alone[i]!) / 1000), 'x');
  const p50Slack = measure(rt.rows.map((x, i) => x.p50 - rt.alone[i]!), 'ms');
  const p99Slack = measure(rt.rows.map((x, i) => x.p99 - 2 * rt.alone[i]!), 'ms');
  const overP99 = measure(over.rows.map((x, i) => x.p99 / over.alone[i]!), 'x');
  const heldMax = Math.max(...[...over.rows, ...sustained].map((x) => x.held));
  // Latency trend while overloaded without a break: the last third of the slices against the first.
  const p50s = sustained.map((x) => x.p50);
  const third = Math.max(1, Math.floor(p50s.length / 3));
  const earlier = median(p50s.slice(0, third));
  const later = median(p50s.slice(-third));
  const trend = later / earlier;
  // Per run, and over all slices together: a result in flight when one slice ends arrives in the next.
  const sum = (rows: Summary[], k: 'results' | 'processed') => rows.reduce((a, x) => a + x[k], 0);
  const delivered = measure([...over.rows.map((x) => x.results / Math.max(1, x.processed)), sum(sustained, 'results') / Math.max(1, sum(sustained, 'processed'))], 'x');
  const missedOver = [...over.rows, ...sustained].reduce((a, x) => a + x.missed, 0);
  const sustainedSeconds = plan.sustained.slices * plan.sustained.slice;
  targets.push(
    check(5, 'model-bound throughput (source 4x faster than the model) vs 1 / detect() alone', bound.median, '>=', 0.9, `${fmtMeasure(bound)}x`, '≥ 0.9x'),
    check(5, 'latency at a 30 fps source: p50 − detect() alone', p50Slack.median, '<=', 5, `${fmtMeasure(p50Slack)} ms (p50 ${fmtMeasure(col(rt.rows, 'p50'))}, detect ${fmtMeasure(aloneOf(rt))} ms)`, '≤ 5 ms'),
    check(5, 'latency at a 30 fps source: p99 − 2 x detect() alone', p99Slack.median, '<=', 10, `${fmtMeasure(p99Slack)} ms (p99 ${fmtMeasure(col(rt.rows, 'p99'))} ms)`, '≤ 10 ms'),
    check(
      5,
      'at 4x overload: p99 / detect() alone',
      overP99.median,
      '<=',
      3,
      `${fmtMeasure(overP99)}x (p99 ${fmtMeasure(col(over.rows, 'p99'))} ms; separately, p99 of each result's latency less its own detect() time ${fmtMeasure(col(over.rows, 'outsideP99'))} ms, and p99 of detect() itself under this load ${fmtMeasure(col(over.rows, 'detectP99'))} ms: percentiles, which do not add)`,
      '≤ 3x',
    ),
    check(
      5,
      `at 4x overload: no queue growth (${fmt(sustainedSeconds)} s without a pause: frames held by the pipeline, p50 of the last third vs the first)`,
      heldMax <= 2 && later <= 1.25 * earlier + 1 && delivered.min >= 0.99 && missedOver === 0 ? 1 : 0,
      '>=',
      1,
      `frames held ≤ ${heldMax}, p50 ${fmt(later)} vs ${fmt(earlier)} ms (${fmt(trend)}x), results received / processed ${fmt(delivered.min)} (worst run, or the slices together), conflated ${missedOver}`,
      'held ≤ 2, later p50 ≤ 1.25x earlier + 1 ms, every result delivered (≥ 0.99), none conflated',
    ),
  );
  tables.push({
    title: 'Latency and throughput against load (1 stream, 1 client, 8 queries)',
    columns: ['source', 'offered frames/s', 'processed frames/s', 'dropped', 'p50 ms', 'p99 ms', 'p99 outside detect() ms', 'detect() p99 under load ms', 'detect() alone ms', 'server CPU ms/frame', 'event-loop p99 ms', "others' CPU"],
    rows: [...loadRows, { label: 'ffmpeg', fps: 30, ...file }].map((l) => [
      l.label === 'ffmpeg' ? '30 fps, a real source: the clip through ffmpeg' : l.label === '30 fps' ? '30 fps' : `${l.label} the model's rate`,
      fmtMeasure(col(l.rows, 'offered')),
      fmtMeasure(col(l.rows, 'fps')),
      `${fmt(median(l.rows.map((x) => (100 * x.dropped) / Math.max(1, x.processed + x.dropped))))}%`,
      fmtMeasure(col(l.rows, 'p50')),
      fmtMeasure(col(l.rows, 'p99')),
      fmtMeasure(col(l.rows, 'outsideP99')),
      fmtMeasure(col(l.rows, 'detectP99')),
      fmtMeasure(measure(l.alone, 'ms')),
      fmtMeasure(col(l.rows, 'cpuPerFrame')),
      fmtMeasure(col(l.rows, 'loopP99')),
      `${fmt(col(l.rows, 'otherCpu').max)}%`,
    ]),
    note:
      `Latency is capture-to-client: the frame's due time at the source to the client's receipt of its detections (clients in another process, clocks aligned). ` +
      `"Outside detect()" is each result's latency less its own timings.decode + timings.infer (detect() for that very frame, as the server timed it): the time spent waiting for the model, in the pipeline, in the sockets and in the client's event loop. "detect() p99 under load" is the p99 of those timings: detect() shares the 2 cores with the source, the clients' process and the sockets, and its slow calls make most of the p99. ` +
      `The synthetic rows emit pre-decoded frames of fixtures/clips/clip01 (bench/lib/synthetic-source.ts); the last row decodes the same clip with ffmpeg at its own 30 fps, looped (FfmpegSource, as the server runs a file), and its latency starts when the frame leaves ffmpeg; ffmpeg's CPU (a child process) is not in its server CPU column, and counts under others' CPU. ` +
      `Each run: detect() alone for ${plan.aloneCalls} calls with the source paused (the ffmpeg row: decoding, nobody subscribed), then a window of ${plan.loads.map((l) => `${l.window ?? (l.fps ? plan.window30 : plan.window)} s (${l.label})`).join(', ')}, ${rtWindow} s (ffmpeg). ` +
      `Sustained overload, after the last run at 4x: ${plan.sustained.slices} slices of ${plan.sustained.slice} s back to back, the source never paused: ` +
      `p50 ${sustained.map((x) => fmt(x.p50)).join(', ')} ms; p99 ${sustained.map((x) => fmt(x.p99)).join(', ')} ms; frames held at the end of each ≤ ${Math.max(...sustained.map((x) => x.held))}.`,
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
  data.load = { detectAloneMs: detect8, detectAloneCpuMs: detect8Cpu, capacity, levels: loadRows.map((l) => ({ label: l.label, fps: l.fps, detectAloneMs: l.alone, runs: l.rows })), sustained, ffmpeg: file };
}
