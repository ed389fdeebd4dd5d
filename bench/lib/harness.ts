/**
 * The real server on 127.0.0.1 with synthetic streams, the client fleet, and measurement windows:
 * frames processed (the pipelines' own counters), server CPU (process.cpuUsage(): this process is
 * the server, the clients live in the fleet), event-loop delay, and what the clients received.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { resolveConfig } from '../../src/config/config.js';
import type { GroundingModel, QuerySet } from '../../src/model/index.js';
import { defaultSourceFactory, GroundstreamServer } from '../../src/server/server.js';
import { watchContention } from './contention.js';
import { ClientFleet, type StreamWindow } from './fleet.js';
import { FIXTURES, type DecodedClip } from './fixtures.js';
import { sleep } from './stats.js';
import { SyntheticSource } from './synthetic-source.js';

export interface WindowResult {
  seconds: number;
  /** Per stream: frames emitted by the source, processed by the model, dropped while it was busy. */
  streams: Record<string, { framesIn: number; processed: number; dropped: number; held: number; clients: StreamWindow | undefined }>;
  processed: number;
  /** Server CPU (user + system, all threads) in ms during the window. */
  cpuMs: number;
  /** Event-loop delay p99 in ms. */
  loopDelayP99: number;
  /** CPU of the clients' process during the window, ms. */
  clientCpuMs: number;
  /** Share of the machine's CPU other processes (not the server, not the clients) used (0..1). */
  otherCpu: number;
}

export class Harness {
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 5 });

  private constructor(
    readonly server: GroundstreamServer,
    readonly url: string,
    readonly fleet: ClientFleet,
    readonly model: GroundingModel,
    readonly clip: DecodedClip,
    /** Sources by stream id, as the server opened them. */
    readonly sources: Map<string, SyntheticSource>,
  ) {
    this.loopDelay.enable();
  }

  static async start(model: GroundingModel, clip: DecodedClip): Promise<Harness> {
    const sources = new Map<string, SyntheticSource>();
    // (one client subscribes up to 128 queries to one stream: the query-count section)
    const config = resolveConfig({ port: 0, host: '127.0.0.1', maxClients: 1000, limits: { maxQueries: 128 }, maxQueriesPerClient: 128, logLevel: 'silent' });
    const real = defaultSourceFactory(config, [FIXTURES]);
    const server = new GroundstreamServer({
      config,
      model,
      fileRoots: [FIXTURES],
      // "synthetic:<fps>": pre-decoded frames at a set rate (SyntheticSource); anything else is
      // opened as the server opens it (a fixture through ffmpeg).
      openSource: async (spec, forModel) => {
        const m = /^synthetic:(\d+(?:\.\d+)?)$/.exec(spec.source);
        if (!m) return real(spec, forModel);
        const s = new SyntheticSource(spec.id, clip, Number(m[1]));
        sources.set(spec.id, s);
        return s;
      },
    });
    const base = await server.listen();
    const fleet = await ClientFleet.start();
    return new Harness(server, `${base.replace('http', 'ws')}/v1/ws`, fleet, model, clip, sources);
  }

  async addStream(id: string, fps: number): Promise<SyntheticSource> {
    await this.server.streams.add({ id, source: `synthetic:${fps}`, realtime: true, loop: false });
    return this.sources.get(id)!;
  }

  /** A fixture file through ffmpeg at its own rate, looped (the server's own source). */
  async addFileStream(id: string, path: string): Promise<void> {
    await this.server.streams.add({ id, source: path, realtime: true, loop: true });
  }

  async removeStream(id: string): Promise<void> {
    await this.server.streams.remove(id);
    this.sources.delete(id);
  }

  /** Opens `clients` more clients in `group`, each subscribed to `stream` (see ClientFleet.open). */
  async connect(group: string, clients: number, stream: string, queries: readonly string[], options: { sameId?: boolean; prefix?: string; mute?: boolean } = {}): Promise<void> {
    await this.fleet.open(group, this.url, clients, stream, queries, options);
  }

  /** A group's clients end their subscriptions, staying connected (see ClientFleet.unsubscribe). */
  unsubscribe(group: string): Promise<void> {
    return this.fleet.unsubscribe(group);
  }

  resubscribe(group: string): Promise<void> {
    return this.fleet.resubscribe(group);
  }

  disconnect(group: string): Promise<void> {
    return this.fleet.close(group);
  }

  /** detect() alone on the stream's frames, back to back, wall ms a call (pause the sources
   * first). `cpu`, if given, receives the CPU ms a call (all threads). */
  async detectAlone(queries: QuerySet, calls: number, cpu?: number[]): Promise<number> {
    const S = this.clip.width;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const data = this.clip.frames[i % this.clip.frames.length]!;
      await this.model.detect({ data, width: S, height: S, sourceWidth: this.clip.sourceWidth, sourceHeight: this.clip.sourceHeight }, queries);
    }
    const ms = (performance.now() - t0) / calls;
    const c = process.cpuUsage(c0);
    cpu?.push((c.user + c.system) / 1000 / calls);
    return ms;
  }

  /** Measures `seconds` of whatever is running now. */
  async window(seconds: number): Promise<WindowResult> {
    const ids = this.server.streams.list().map((e) => e.id);
    const before = new Map(ids.map((id) => [id, { ...this.server.streams.get(id)!.pipeline.stats }]));
    const mark = await this.fleet.mark();
    this.loopDelay.reset();
    const cpu0 = process.cpuUsage();
    const others = watchContention();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(cpu0);
    const t1 = performance.now();
    const loopDelayP99 = this.loopDelay.percentile(99) / 1e6;
    const collected = await this.fleet.collect();
    // The clients' process is part of the benchmark: its CPU is not "other".
    const clientCpuMs = collected.cpuMs - mark.cpuMs;
    const otherCpu = others(clientCpuMs);
    const streams: WindowResult['streams'] = {};
    let processed = 0;
    for (const id of ids) {
      const a = before.get(id)!;
      const b = this.server.streams.get(id)!.pipeline.stats;
      const d = { framesIn: b.framesIn - a.framesIn, processed: b.framesProcessed - a.framesProcessed, dropped: b.framesDropped - a.framesDropped };
      // Frames the pipeline holds right now: at most one in the model and one waiting.
      const held = b.framesIn - b.framesProcessed - b.framesDropped - b.framesIdle - b.inferenceErrors;
      streams[id] = { ...d, held, clients: collected.streams[id] };
      processed += d.processed;
    }
    return { seconds: (t1 - t0) / 1000, streams, processed, cpuMs: (cpu.user + cpu.system) / 1000, clientCpuMs, loopDelayP99, otherCpu };
  }

  async close(): Promise<void> {
    this.loopDelay.disable();
    await this.fleet.stop();
    await this.server.close();
  }
}
