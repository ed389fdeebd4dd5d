/** Fan-out: 1 to 500 clients with the same queries on one 30 fps stream; server CPU per frame. */
import { QUERIES_8 } from '../../lib/fixtures.js';
import { fmt, fmtMeasure, measure, median, sleep } from '../../lib/stats.js';
import { check } from '../../lib/step.js';
import { col, point, summarize, type Section, type Summary } from './plan.js';

export async function clientsSection(s: Section): Promise<void> {
  const { h, plan, runs: R, detect8Cpu, targets, tables, charts, data, noteErrors } = s;
  await h.addStream('fan', 30);
  const clientRows: { clients: number; rows: Summary[] }[] = [];
  let open = 0;
  for (const n of plan.clients) {
    await h.connect('fan', n - open, 'fan', QUERIES_8);
    open = n;
    await sleep(1000 * Math.max(plan.settle, s.ctx.ci ? 0.1 : 1));
    const rows: Summary[] = [];
    for (let r = 0; r < R; r++) rows.push(summarize(await h.window(plan.window30), 'fan'));
    noteErrors(rows, `${n} clients`);
    clientRows.push({ clients: n, rows });
    s.ctx.log(`${n} clients: ${fmt(median(rows.map((x) => x.cpuPerFrame)))} ms CPU/frame, p99 ${fmt(median(rows.map((x) => x.p99)))} ms`);
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
}
