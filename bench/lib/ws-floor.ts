/**
 * The fan-out floor: what sending one already-encoded message to each of N sockets costs, on this
 * machine, in this process, two ways: with `ws` alone (`ws.send` of the string), and as one
 * pre-framed write per socket (what src/server/text-frames.ts does: the system call and little
 * else). A server with one message per client per frame cannot go below the second, so the
 * fan-out target is read against them.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { textFrame } from '../../src/server/text-frames.js';
import { sleep } from './stats.js';

const SCRIPT = fileURLToPath(new URL('../fleet/raw-fleet.mjs', import.meta.url));

/** 'ws': ws.send(payload) to each socket; 'framed': payload framed once, one write per socket. */
export type FloorWay = 'ws' | 'framed';

/**
 * CPU of this process per frame, ms, sending `payload` to `clients` sockets at `fps` for `seconds`.
 * `work`, if given, runs before each burst, as the model runs before results go out: after it,
 * caches are cold and each write costs more (about 10 µs against 6 on this machine, measured with
 * 3.5 ms of arithmetic between bursts). Its own CPU is measured call by call and left out.
 */
export async function wsFloorCpuPerFrame(
  payload: string,
  clients: number,
  fps: number,
  seconds: number,
  way: FloorWay = 'ws',
  work?: () => Promise<unknown>,
): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const raw = new Map<WebSocket, Socket>();
  wss.on('connection', (ws, req) => raw.set(ws, req.socket));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as { port: number };
  const child = fork(SCRIPT, [`ws://127.0.0.1:${port}`, String(clients)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    while (wss.clients.size < clients) await sleep(20);
    await sleep(300);
    const frames = Math.max(1, Math.round(fps * seconds));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let workCpu = 0;
    for (let f = 0; f < frames; f++) {
      if (work) {
        const w0 = process.cpuUsage();
        await work();
        const w = process.cpuUsage(w0);
        workCpu += w.user + w.system;
      }
      if (way === 'ws') for (const ws of wss.clients as Set<WebSocket>) ws.send(payload);
      else {
        const frame = textFrame(payload);
        for (const socket of raw.values()) socket.write(frame);
      }
      const due = t0 + ((f + 1) * 1000) / fps;
      await sleep(Math.max(0, due - performance.now()));
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system - workCpu) / 1000 / frames;
  } finally {
    child.send('close');
    await new Promise((resolve) => child.once('exit', resolve));
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
}
