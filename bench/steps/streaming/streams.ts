/** 30 fps cameras sharing one model: 1 to 8 streams, one client each. */
import { QUERIES_8 } from '../../lib/fixtures.js';
import { fmt, fmtMeasure, measure, median, sleep } from '../../lib/stats.js';
import { point, summarize, type Section } from './plan.js';

export async function streamsSection(s: Section): Promise<void> {
  const { h, plan, runs: R, capacity, tables, charts, data, noteErrors } = s;
  const streamRows: { streams: number; rows: { fps: number; offered: number; p50: number; p99: number; cpuPerFrame: number; otherCpu: number }[] }[] = [];
  let have = 0;
  for (const n of plan.streams) {
    for (; have < n; have++) {
      await h.addStream(`cam${have}`, 30);
      await h.connect(`cam${have}`, 1, `cam${have}`, QUERIES_8);
    }
    await sleep(1000 * Math.max(plan.settle, s.ctx.ci ? 0.1 : 1));
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
    s.ctx.log(`${n} streams: ${fmt(median(rows.map((x) => x.fps)))} of ${fmt(median(rows.map((x) => x.offered)))} frames/s, p99 ${fmt(median(rows.map((x) => x.p99)))} ms`);
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
}
