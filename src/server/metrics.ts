/**
 * Prometheus metrics at /metrics (prom-client, one registry per server): frames in, processed,
 * dropped and idle per stream, inference time, capture-to-send latency, clients, results dropped by
 * back-pressure, source state and reconnects, errors answered by code, refused connections, and
 * prom-client's process and Node.js defaults under their standard names
 * (process_resident_memory_bytes, nodejs_eventloop_lag_seconds, ...), so that stock dashboards find
 * them. A stream's series go when it is removed (a counter that comes back under the same id
 * starts again from 0, which Prometheus reads as a counter reset).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { GroundstreamError } from '../errors.js';
import { notAllowed, type Handler } from './http-api.js';
import { streamStats, type StreamManager } from './streams.js';

const STATES = ['connecting', 'live', 'stalled', 'reconnecting', 'ended', 'failed', 'idle'] as const;

/** Why a WebSocket connection is refused at the handshake: no or an unknown token; an origin, host
 * or proxy refused (auth.ts); maxClients, maxClientsPerAddress, tokens[].maxClients; a shutdown
 * under way; another protocol version. */
export const REFUSALS = ['unauthorized', 'forbidden', 'max_clients', 'per_address', 'per_token', 'shutting_down', 'protocol'] as const;
export type Refusal = (typeof REFUSALS)[number];

export class Metrics {
  readonly registry = new Registry();
  readonly inferenceSeconds: Histogram<'stream'>;
  readonly latencySeconds: Histogram<'stream'>;
  readonly missedResults: Counter;
  readonly clientPauses: Counter;
  /** Errors answered to clients, by code: `ws` error messages, `http` error responses. */
  readonly errors: Counter<'code' | 'via'>;
  /** WebSocket connections refused at the handshake, by why (REFUSALS). */
  readonly refusedConnections: Counter<'reason'>;

  constructor(streams: StreamManager, clients: () => number) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    type Entry = ReturnType<StreamManager['list']>[number];
    // The pipelines count for themselves; a scrape reads their counts (only streams still there).
    const perStreamCounter = (name: string, help: string, pick: (e: Entry) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['stream'],
        registers: [r],
        collect() {
          this.reset();
          for (const e of streams.list()) this.inc({ stream: e.id }, pick(e));
        },
      });
    perStreamCounter('groundstream_frames_in_total', 'Frames the source decoded or was pushed', (e) => streamStats(e).framesIn);
    perStreamCounter('groundstream_frames_processed_total', 'Frames that got an inference', (e) => e.pipeline.stats.framesProcessed);
    perStreamCounter('groundstream_frames_dropped_total', 'Frames replaced by a newer one while the model (or, for pushed images, the decoder) was busy', (e) => streamStats(e).framesDropped);
    perStreamCounter('groundstream_frames_idle_total', 'Frames that arrived while nobody watched', (e) => e.pipeline.stats.framesIdle);
    perStreamCounter('groundstream_inference_errors_total', 'Frames whose inference failed', (e) => e.pipeline.stats.inferenceErrors);
    new Counter({
      name: 'groundstream_source_reconnects_total',
      help: "Times the source was lost and a reconnect scheduled, by the code of the error that ended it ('none': it ended without one)",
      labelNames: ['stream', 'code'],
      registers: [r],
      collect() {
        this.reset();
        for (const e of streams.list()) for (const [code, n] of e.reconnects) this.inc({ stream: e.id, code }, n);
      },
    });
    new Gauge({
      name: 'groundstream_subscribers',
      help: 'Subscriptions on the stream',
      labelNames: ['stream'],
      registers: [r],
      collect() {
        this.reset();
        for (const e of streams.list()) this.set({ stream: e.id }, e.pipeline.subscribers);
      },
    });
    new Gauge({
      name: 'groundstream_source_state',
      help: 'Source state (1 for the current state)',
      labelNames: ['stream', 'state'],
      registers: [r],
      collect() {
        this.reset();
        for (const e of streams.list()) for (const s of STATES) this.set({ stream: e.id, state: s }, e.status.state === s ? 1 : 0);
      },
    });
    new Gauge({
      name: 'groundstream_clients',
      help: 'Connected WebSocket clients',
      registers: [r],
      collect() {
        this.set(clients());
      },
    });
    this.inferenceSeconds = new Histogram({
      name: 'groundstream_inference_seconds',
      help: 'Preprocessing + inference + postprocessing time per frame',
      labelNames: ['stream'],
      buckets: [0.002, 0.004, 0.006, 0.008, 0.012, 0.016, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [r],
    });
    this.latencySeconds = new Histogram({
      name: 'groundstream_latency_seconds',
      help: 'Capture to result ready, per frame',
      labelNames: ['stream'],
      buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2],
      registers: [r],
    });
    this.missedResults = new Counter({
      name: 'groundstream_results_conflated_total',
      help: 'Results replaced by a newer one because a client read too slowly',
      registers: [r],
    });
    this.clientPauses = new Counter({
      name: 'groundstream_client_reads_paused_total',
      help: "Times a client's socket stopped being read because too many of its messages waited to be handled",
      registers: [r],
    });
    this.errors = new Counter({
      name: 'groundstream_errors_total',
      help: 'Errors answered to clients, by code: via="ws" error messages, via="http" error responses',
      labelNames: ['code', 'via'],
      registers: [r],
    });
    this.refusedConnections = new Counter({
      name: 'groundstream_connections_refused_total',
      help: `WebSocket connections refused at the handshake, by reason (${REFUSALS.join(', ')})`,
      labelNames: ['reason'],
      registers: [r],
    });
    for (const reason of REFUSALS) this.refusedConnections.inc({ reason }, 0); // (every reason has a series from the start)
    // a removed stream's histograms go with it: ids that come and go must not pile up series
    streams.removed$.subscribe((id) => {
      this.inferenceSeconds.remove({ stream: id });
      this.latencySeconds.remove({ stream: id });
    });
  }

  handler(): Handler {
    return async (req, res, url) => {
      if (url.pathname !== '/metrics') return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') throw notAllowed(res, 'GET, HEAD', new GroundstreamError('HTTP_METHOD_NOT_ALLOWED', `${req.method} ${url.pathname}`));
      const body = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(body);
      return true;
    };
  }
}
