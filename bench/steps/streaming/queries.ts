/** Throughput against the number of queries (1 stream faster than the model, 1 client). */
import { queries } from '../../lib/fixtures.js';
import { fmt, fmtMeasure, measure, median, sleep } from '../../lib/stats.js';
import { col, point, summarize, type Section, type Summary } from './plan.js';

export async function queriesSection(s: Section): Promise<void> {
  const { h, plan, runs: R, model, capacity, tables, charts, data, noteErrors } = s;
  const qsrc = await h.addStream('queries', 4 * capacity);
  const queryRows: { queries: number; alone: number[]; rows: Summary[] }[] = [];
  for (const n of plan.queries) {
    const texts = queries(n);
    const qs = await model.prepareQueries(texts);
    qsrc.pause();
    await h.detectAlone(qs, s.ctx.ci ? 2 : 10); // warm this query bucket's shapes
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
    s.ctx.log(`${n} queries: ${fmt(median(entry.rows.map((x) => x.fps)))} frames/s, detect alone ${fmt(median(entry.alone))} ms`);
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
}
