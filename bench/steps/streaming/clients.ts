/** Fan-out: 1 to 500 clients with the same queries on one 30 fps stream; server CPU per frame. */
import type { Detection } from '../../../src/domain/types.js';
import { encodeServerMessage } from '../../../src/protocol/index.js';
import { QUERIES_8 } from '../../lib/fixtures.js';
import { wsFloorCpuPerFrame } from '../../lib/ws-floor.js';
import { fmt, fmtMeasure, measure, median, sleep, type Measure } from '../../lib/stats.js';
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
  const cpuOf = (n: number) => col(clientRows.find((c) => c.clients === n)?.rows ?? [], 'cpuPerFrame', 'ms');
  const fanN = plan.clients.includes(200) ? 200 : plan.clients.at(-1)!;

  // The target, measured in turns: one client, fanN, and fanN named alike, run after run, the
  // order rotating from run to run (so that what one turn leaves behind, such as garbage to
  // collect, does not always fall on the same one), every client connected throughout: the others
  // end their subscriptions while they should not count, and take them up again. The rows above
  // are minutes apart, and this machine's drift over minutes is as large as what is measured.
  // "Own": every client's subscription id its own (as this fleet names them), so each gets a frame
  // of its own: the worst case. "Alike": all named `s1`, as SDK clients name their first
  // subscription: byte for byte the same messages, framed once for all of them. The one client is
  // `s1` too, so it belongs to both.
  await h.connect('one', 1, 'fan', QUERIES_8, { sameId: true });
  await h.connect('own', fanN - 1, 'fan', QUERIES_8, { prefix: 'own-' });
  await h.connect('alike', fanN - 1, 'fan', QUERIES_8, { sameId: true });
  await h.unsubscribe('own');
  await h.unsubscribe('alike');
  const settle = () => sleep(1000 * Math.max(plan.settle, s.ctx.ci ? 0.1 : 1));
  const turns = { one: [] as Summary[], own: [] as Summary[], alike: [] as Summary[] };
  const order = ['one', 'own', 'alike'] as const;
  let subscribed: 'own' | 'alike' | null = null;
  for (let r = 0; r < R; r++) {
    for (let k = 0; k < order.length; k++) {
      const turn = order[(r + k) % order.length]!;
      const want = turn === 'one' ? null : turn;
      if (subscribed !== want) {
        if (subscribed) await h.unsubscribe(subscribed);
        if (want) await h.resubscribe(want);
        subscribed = want;
      }
      await settle();
      turns[turn].push(summarize(await h.window(plan.window30), 'fan'));
    }
  }
  for (const group of ['one', 'own', 'alike']) await h.disconnect(group);
  await h.removeStream('fan');
  noteErrors([...turns.one, ...turns.own, ...turns.alike], `1 vs ${fanN} clients in turns`);
  const oneCpu = col(turns.one, 'cpuPerFrame', 'ms');
  const ownCpu = col(turns.own, 'cpuPerFrame', 'ms');
  const alikeCpu = col(turns.alike, 'cpuPerFrame', 'ms');
  const fan = measure(ownCpu.runs.map((v, i) => v / oneCpu.runs[i]!), 'x');
  const alikeFan = measure(alikeCpu.runs.map((v, i) => v / oneCpu.runs[i]!), 'x');
  const delivered = (rows: Summary[], clients: number) => median(rows.map((x) => x.results / Math.max(1, x.processed * clients)));
  s.ctx.log(
    `in turns: 1 client ${fmt(oneCpu.median)}, ${fanN} ${fmt(ownCpu.median)} (${fmt(fan.median)}x), ${fanN} named alike ${fmt(alikeCpu.median)} ms CPU/frame (${fmt(alikeFan.median)}x); ` +
      `results delivered ${fmt(100 * delivered(turns.own, fanN))}%, ${fmt(100 * delivered(turns.alike, fanN))}%`,
  );

  // The floors: a message like ours (this frame's real detections) sent to 1 and to fanN sockets
  // at 30 fps, by ws alone and as one pre-framed write per socket. What each adds per client is
  // what a server writing one message per client per frame that way pays; the ratio it implies is
  // the best the target's ratio could be.
  const { clip } = h;
  const detectFrame = (i: number) =>
    s.model.detect({ data: clip.frames[i % clip.frames.length]!, width: clip.width, height: clip.height, sourceWidth: clip.sourceWidth, sourceHeight: clip.sourceHeight }, s.qs8);
  let sample = { detections: [] as Detection[] };
  for (let i = 0; i < 30; i++) {
    const r = await detectFrame(i);
    if (r.detections.length > sample.detections.length) sample = r; // the busiest of the first 30 frames
  }
  const payload = encodeServerMessage({
    type: 'detections',
    subscription: 'fan',
    stream: 'fan',
    frame: { seq: 1, pts: 0.033, capturedAt: Date.now(), width: clip.sourceWidth, height: clip.sourceHeight },
    queryVersion: 1,
    timings: { decode: 0.31, infer: 2.52, total: 3.9 },
    detections: sample.detections.map((d, i) => ({ ...d, trackId: i + 1, track: 'updated' as const })),
  });
  // Before each burst the model runs on the next frame, as in the server.
  let next = 0;
  const work = () => detectFrame(next++);
  const floors = (['ws', 'framed'] as const).map((way) => ({ way, one: [] as number[], many: [] as number[] }));
  for (let r = 0; r < R; r++) {
    for (const f of floors) {
      f.one.push(await wsFloorCpuPerFrame(payload, 1, 30, plan.window30, f.way, work));
      f.many.push(await wsFloorCpuPerFrame(payload, fanN, 30, plan.window30, f.way, work));
    }
  }
  const perClient = (many: Measure) => measure(many.runs.map((v, i) => (1000 * (v - oneCpu.runs[i]!)) / (fanN - 1)), 'µs');
  const oursPerClientUs = perClient(ownCpu);
  const floorStats = floors.map((f) => {
    const perClientUs = measure(f.many.map((v, i) => (1000 * (v - f.one[i]!)) / (fanN - 1)), 'µs');
    const ratio = measure(oneCpu.runs.map((v, i) => (v + ((fanN - 1) * perClientUs.runs[i]!) / 1000) / v), 'x');
    return { ...f, perClientUs, ratio };
  });
  const wsFloor = floorStats.find((f) => f.way === 'ws')!;
  const framedFloor = floorStats.find((f) => f.way === 'framed')!;
  s.ctx.log(
    `fan-out floors (${payload.length} B): ws.send ${fmt(wsFloor.perClientUs.median)} µs, one framed write ${fmt(framedFloor.perClientUs.median)} µs per added client per frame; ours ${fmt(oursPerClientUs.median)}`,
  );
  targets.push(
    check(
      5,
      `fan-out: server CPU per frame, ${fanN} clients vs 1 (same queries, 30 fps)`,
      fan.median,
      '<=',
      1.3,
      `${fmtMeasure(fan)}x (${fmt(ownCpu.median)} vs ${fmt(oneCpu.median)} ms, measured in turns; ${fmt(oursPerClientUs.median)} µs per added client; one framed write alone ${fmt(framedFloor.perClientUs.median)} µs: floor ${fmt(framedFloor.ratio.median)}x; ` +
        `every client's subscription id its own, so no two messages alike; clients naming theirs alike, as the SDK does: ${fmtMeasure(alikeFan)}x)`,
      '≤ 1.3x',
    ),
  );
  tables.push({
    title: `Fan-out floor: detect() on a frame, then one ${payload.length}-byte message per socket, 30 fps, no server around it`,
    columns: ['what', 'CPU ms/frame, 1 socket', `CPU ms/frame, ${fanN} sockets`, 'µs per added client per frame', `ratio ${fanN} vs 1 if the server cost only this per client`],
    rows: [
      ...floorStats.map((f) => [
        f.way === 'ws'
          ? 'ws.send of the encoded string (ws frames it: header and payload, corked)'
          : 'framed once a burst, one socket write per client (what groundstream writes to clients whose messages are alike: the best case)',
        fmtMeasure(measure(f.one, 'ms')),
        fmtMeasure(measure(f.many, 'ms')),
        fmtMeasure(f.perClientUs),
        `${fmtMeasure(f.ratio)}x`,
      ]),
      ['groundstream, every subscription id its own (the target)', fmtMeasure(oneCpu), fmtMeasure(ownCpu), fmtMeasure(oursPerClientUs), `${fmtMeasure(fan)}x`],
      ['groundstream, subscriptions named alike (s1, as SDK clients name their first)', fmtMeasure(oneCpu), fmtMeasure(alikeCpu), fmtMeasure(perClient(alikeCpu)), `${fmtMeasure(alikeFan)}x`],
    ],
    note:
      "Clients that only count (bench/fleet/raw-fleet.mjs), in another process. The model runs before each burst, as in the server, since writes right after it cost more than writes in a loop alone; its own CPU, measured call by call, is left out of both columns. " +
      "A floor's ratio puts its measured per-socket cost on top of groundstream's own 1-client CPU per frame. " +
      `groundstream's rows: 1 client, ${fanN}, and ${fanN} named alike, in turns, run after run, the order rotating, all ${2 * fanN - 1} clients connected throughout (those that should not count end their subscriptions, then take them up again: the 1-client turn has ${2 * fanN - 2} idle connections beside it); the table below measures each number of clients once, in a row. ` +
      "The socket write system call is most of it (on loopback, delivery into the receiving socket is charged to the sender).",
  });
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
  data.fanOutInTurns = { clients: fanN, ...turns };
  data.fanOutFloor = { payloadBytes: payload.length, oursPerClientUs, floors: floorStats };
}
