/**
 * Soak test (issue 9): many clients subscribe, change queries and disconnect at random against a
 * real server on loopback, for a bounded time. Passes when RSS grows < 10% after warm-up, no
 * ffmpeg process or socket leaks, and every client that reads gets results.
 *
 *   npm run soak                      # 10 minutes, 40 clients
 *   npm run soak -- --seconds 60 --clients 20
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { resolveConfig } from '../src/config/config.js';
import { scoringQueries } from '../src/eval/shapes-world.js';
import { loadModel } from '../src/model/index.js';
import { GroundstreamServer } from '../src/server/server.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 600);
const CLIENTS = arg('clients', 40);
// Warm-up: caches (text embeddings of all 53 queries, onnxruntime's buffers for each query bucket)
// fill during the first minutes; growth is measured from there.
const WARMUP = Math.min(120, SECONDS / 5);
const FIXTURES = new URL('../fixtures', import.meta.url).pathname;
const QUERIES = scoringQueries();

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
const someQueries = () => Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(QUERIES));

const model = await loadModel();
const server = new GroundstreamServer({ config: resolveConfig({ port: 0, logLevel: 'silent', maxClients: CLIENTS * 2 }), model, fileRoots: [FIXTURES] });
const base = await server.listen();
const wsUrl = `${base.replace('http', 'ws')}/v1/ws`;
for (const [id, clip] of [['a', 'clip01-640x360.mp4'], ['b', 'clip05-1280x720.mp4']] as const) {
  await server.streams.add({ id, source: join(FIXTURES, 'clips', clip), realtime: true, loop: true });
}

interface Sim {
  ws: WebSocket | null;
  subs: Set<string>;
  reader: boolean;
  results: number;
  connects: number;
}
/** Every socket ever opened, so that the end can resume and close the ones replaced mid-run. */
const sockets: WebSocket[] = [];
const sims: Sim[] = Array.from({ length: CLIENTS }, (_, i) => ({ ws: null, subs: new Set(), reader: i % 4 !== 0, results: 0, connects: 0 }));
let nextId = 0;

function connect(s: Sim) {
  const ws = new WebSocket(wsUrl);
  sockets.push(ws);
  s.ws = ws;
  s.subs.clear();
  s.connects++;
  ws.on('message', (d, bin) => {
    if (!bin && String(d).startsWith('{"type":"detections"')) s.results++;
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    if (s.ws === ws) s.ws = null;
  });
  // a client that does not read: stop reading from the socket after the handshake
  ws.once('open', () => {
    if (!s.reader) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  });
}

function act(s: Sim) {
  const ws = s.ws;
  if (!ws) return connect(s);
  if (ws.readyState !== WebSocket.OPEN) return;
  const r = rand();
  if (r < 0.35 || s.subs.size === 0) {
    const id = `s${nextId++}`;
    s.subs.add(id);
    ws.send(JSON.stringify({ type: 'subscribe', id, stream: pick(['a', 'b']), queries: someQueries(), threshold: pick([0.1, 0.3, 0.5]) }));
  } else if (r < 0.7) {
    ws.send(JSON.stringify({ type: 'update', id: pick([...s.subs]), queries: someQueries() }));
  } else if (r < 0.85) {
    const id = pick([...s.subs]);
    s.subs.delete(id);
    ws.send(JSON.stringify({ type: 'unsubscribe', id }));
  } else if (r < 0.95) {
    ws.close();
    s.ws = null;
  } else {
    ws.terminate(); // vanish without a close handshake
    s.ws = null;
  }
}

const ffmpegChildren = () => {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

sims.forEach(connect);
const started = Date.now();
let rssWarm = 0;
const timer = setInterval(() => {
  for (let k = 0; k < Math.max(1, CLIENTS / 10); k++) act(pick(sims));
}, 100);
await new Promise((r) => setTimeout(r, WARMUP * 1000));
global.gc?.();
rssWarm = process.memoryUsage().rss;
const resultsAtWarm = sims.map((s) => s.results);
await new Promise((r) => setTimeout(r, (SECONDS - WARMUP) * 1000));
clearInterval(timer);
// let every client settle: close them all (a client that stopped reading resumes, or its close
// handshake waits for ws's 30 s timeout), then wait for the server to see every socket gone
// (a socket that was closed while paused would otherwise wait for ws's 30 s close timeout)
for (const ws of sockets) {
  (ws as unknown as { _socket?: { resume(): void } })._socket?.resume();
  if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
}
for (let i = 0; i < 350 && server.clientCount > 0; i++) await new Promise((r) => setTimeout(r, 100));
global.gc?.();
const rssEnd = process.memoryUsage().rss;
const growth = (rssEnd - rssWarm) / rssWarm;
const readersWithout = sims.filter((s, i) => s.reader && s.results - resultsAtWarm[i]! === 0).length;
const leakedClients = server.clientCount;
const ffmpeg = ffmpegChildren();
const report = {
  seconds: SECONDS,
  clients: CLIENTS,
  connects: sims.reduce((a, s) => a + s.connects, 0),
  results: sims.reduce((a, s) => a + s.results, 0),
  rssWarmMiB: +(rssWarm / 2 ** 20).toFixed(1),
  rssEndMiB: +(rssEnd / 2 ** 20).toFixed(1),
  rssGrowth: +growth.toFixed(4),
  readersWithoutResults: readersWithout,
  serverClientsAfterClose: leakedClients,
  ffmpegChildren: ffmpeg,
  conflatedResults: server.missedResults,
};
const pass = growth < 0.1 && readersWithout === 0 && leakedClients === 0 && ffmpeg === 2;
console.log(JSON.stringify(report, null, 1));
await server.close();
await model.close();
const after = ffmpegChildren();
console.log(`soak: ${pass && after === 0 ? 1 : 0} passed, ${pass && after === 0 ? 0 : 1} failed (ffmpeg children after close: ${after})`);
process.exit(pass && after === 0 ? 0 : 1);
