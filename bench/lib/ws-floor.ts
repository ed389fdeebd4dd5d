/**
 * The fan-out floor: what sending one already-encoded message to each of N sockets costs with
 * `ws` alone, on this machine, in this process. A server with one message per client per frame
 * cannot go below it, so the fan-out target is read against it.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { sleep } from './stats.js';

const SCRIPT = fileURLToPath(new URL('../fleet/raw-fleet.mjs', import.meta.url));

/** CPU of this process per frame, ms, sending `payload` to `clients` sockets at `fps` for `seconds`. */
export async function wsFloorCpuPerFrame(payload: string, clients: number, fps: number, seconds: number): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as { port: number };
  const child = fork(SCRIPT, [`ws://127.0.0.1:${port}`, String(clients)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    while (wss.clients.size < clients) await sleep(20);
    await sleep(300);
    const frames = Math.max(1, Math.round(fps * seconds));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let f = 0; f < frames; f++) {
      for (const ws of wss.clients as Set<WebSocket>) ws.send(payload);
      const due = t0 + ((f + 1) * 1000) / fps;
      await sleep(Math.max(0, due - performance.now()));
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / frames;
  } finally {
    child.send('close');
    await new Promise((resolve) => child.once('exit', resolve));
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
}
