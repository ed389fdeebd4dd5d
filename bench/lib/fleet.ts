/**
 * Controls the client fleet (fleet/client-fleet.mjs), a child process holding the benchmark's
 * WebSocket clients. Keeping clients out of this process means process.cpuUsage() here is the
 * server's CPU alone; they still share the machine's cores, as clients on the same host would.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { clock } from './clock.js';

export interface StreamWindow {
  /** detections messages received, all clients together. */
  results: number;
  /** Distinct frames (seq) among them. */
  frames: number;
  /** Results the server conflated away (sum of `missed` counts). */
  missed: number;
  errors: number;
  firstError?: string;
  /** Capture-to-client latency, ms. */
  latency: { count: number; p50: number; p90: number; p99: number; max: number };
  /** The same latency less the result's own timings.decode + timings.infer (what detect() took for
   * that frame): the time the frame spent outside the model (waiting for it, the pipeline, the
   * sockets, the client's event loop), ms. */
  outsideDetect: { p50: number; p99: number };
  /** timings.decode + timings.infer of the results: detect() itself, frame by frame, under load, ms. */
  inDetect: { p50: number; p99: number };
}

export interface Collected {
  /** Clock (ms, this process's) when collected. */
  t: number;
  /** The fleet process's CPU so far, ms. */
  cpuMs: number;
  streams: Record<string, StreamWindow>;
}

const SCRIPT = fileURLToPath(new URL('../fleet/client-fleet.mjs', import.meta.url));

export class ClientFleet {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`client fleet: ${m.error}`));
    });
    child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`client fleet exited (${code})`));
      this.waiting.clear();
    });
  }

  /** Starts the fleet and measures its clock offset against ours (IPC round trip, best of 20). */
  static async start(): Promise<ClientFleet> {
    const fleet = new ClientFleet(fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    let best = { rtt: Infinity, skew: 0 };
    for (let i = 0; i < 20; i++) {
      const t0 = clock();
      const { t } = await fleet.call<{ t: number }>('clock');
      const t2 = clock();
      if (t2 - t0 < best.rtt) best = { rtt: t2 - t0, skew: t - (t0 + t2) / 2 };
    }
    await fleet.call('skew', { value: best.skew });
    return fleet;
  }

  private call<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  /** Opens `clients` clients in `group`, each subscribed to `stream` with `queries`. Their
   * subscription ids differ from client to client (`${prefix}0`, `${prefix}1`, ...; prefix `s`),
   * unless `sameId` (all `s1`, as SDK clients name their first subscription). `mute`: they leave
   * the protocol's ping unanswered (WebSocket pings they answer), as no client should. */
  open(
    group: string,
    url: string,
    clients: number,
    stream: string,
    queries: readonly string[],
    options: { threshold?: number; sameId?: boolean; prefix?: string; mute?: boolean } = {},
  ): Promise<{ open: number }> {
    return this.call('open', { group, url, clients, stream, queries, ...options });
  }

  /** Ends the subscriptions of a group's clients, which stay connected (resubscribe takes them up
   * again): the server's load changes, its connections do not. */
  unsubscribe(group: string): Promise<void> {
    return this.call('unsubscribe', { group });
  }

  resubscribe(group: string): Promise<void> {
    return this.call('subscribe', { group });
  }

  /** Starts a measurement window: forgets what arrived so far. */
  mark(): Promise<{ t: number; cpuMs: number }> {
    return this.call('mark');
  }

  /** What arrived since the last mark, per stream. */
  collect(): Promise<Collected> {
    return this.call('collect');
  }

  close(group: string): Promise<void> {
    return this.call('close', { group });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.disconnect();
    await exited;
  }
}
