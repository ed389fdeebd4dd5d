/**
 * Server configuration: defaults < config file (JSON) < environment < flags. Parsed and validated
 * once, then frozen and passed in; nothing else reads process.env.
 */
import { readFileSync } from 'node:fs';
import { GroundstreamError } from '../errors.js';
import { DEFAULT_DENIED_NETWORKS, deniedNetworkList, parseSourceUri } from '../ingest/url-policy.js';
import { resolveLimits } from '../protocol/limits.js';

export interface StreamSpec {
  /** Stream id, as clients name it. */
  id: string;
  /** A file path or URL (rtsp://, http(s)://, ...) for ffmpeg, or "push" for frames pushed by clients. */
  source: string;
  /** For files: play at the native frame rate (default true), or as fast as possible. */
  realtime?: boolean;
  /** For files: start again at the end (default false). */
  loop?: boolean;
  /** For URLs: a live stream (default true: reconnect when it drops, frames as they come), or a
   * finite video served over HTTP (false: paced by `realtime`, ends like a file). */
  live?: boolean;
  /** Live URLs and devices: open the source only while someone is subscribed, and close it
   * (ffmpeg, and the camera's connection) `onDemandCloseMs` after the last one leaves; the stream
   * is `idle` meanwhile. Default false: always open. */
  onDemand?: boolean;
  /** RTSP only: how RTP travels, 'tcp' (default: through NAT and firewalls, no loss) or 'udp'
   * (cameras and relays that refuse TCP: "461 Unsupported Transport"). */
  rtspTransport?: 'tcp' | 'udp';
}

/** The fields a stream may have, in the config and in POST /v1/streams. */
export const STREAM_SPEC_KEYS: readonly string[] = Object.freeze(['id', 'source', 'realtime', 'loop', 'live', 'onDemand', 'rtspTransport']);

/**
 * Why a stream's options do not fit its source, or undefined. `o` holds the options as given
 * (before defaults): an option that would be silently ignored is refused instead.
 */
export function streamOptionProblem(o: { source: string; realtime?: unknown; loop?: unknown; live?: unknown; onDemand?: unknown; rtspTransport?: unknown }): string | undefined {
  if (o.rtspTransport !== undefined) {
    if (o.rtspTransport !== 'tcp' && o.rtspTransport !== 'udp') return '"rtspTransport" must be "tcp" or "udp"';
    if (!/^rtsps?:/i.test(o.source)) return '"rtspTransport" applies to rtsp:// and rtsps:// sources only';
  }
  for (const k of ['realtime', 'loop', 'live', 'onDemand'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') return `"${k}" must be true or false`;
  }
  const kind = o.source === 'push' ? 'push' : parseSourceUri(o.source).kind;
  const given = (['realtime', 'loop', 'live', 'onDemand'] as const).filter((k) => o[k] !== undefined);
  if (kind === 'push' && given.length) return `"${given[0]}" does not apply to a pushed stream`;
  if (kind !== 'url' && o.live !== undefined) return '"live" applies to URL sources only';
  if (kind === 'url' && o.loop !== undefined) return '"loop" applies to files only';
  if (kind === 'url' && o.live !== false && o.realtime !== undefined) return '"realtime" applies to a URL only with "live": false (a live stream comes at its own rate)';
  // A file would start again from its beginning each time someone came back, while its frame
  // numbers went on: frame numbers would no longer name frames of the clip (record and eval
  // match them with its truth).
  if (o.onDemand === true && (kind === 'file' || (kind === 'url' && o.live === false))) {
    return '"onDemand" applies to live sources only (URLs and devices): a file would start again from its beginning each time';
  }
  return undefined;
}

export interface ServerConfig {
  /** TCP port. Env PORT. Default 8080. */
  port: number;
  /** Bind address. Env HOST. Default 127.0.0.1. */
  host: string;
  /** Model folder; default the bundled shapes-owl. Env GROUNDSTREAM_MODEL. */
  model?: string;
  /** Another graph in the model's onnx/ folder (e.g. 'model_quantized.onnx'). Default: onnx/model.onnx,
   * or the split graphs the model's config.json names. */
  variant?: string;
  /** Score threshold for subscribers that give none, in [0, 1]. Default: the model's
   * (config.json groundstream.threshold, else 0.1, the reference's). */
  threshold?: number;
  /** Per-query NMS IoU in (0, 1], or null for none. Default: the model's (config.json
   * groundstream.nms_iou, else none, as the reference). */
  nmsIou?: number | null;
  /** onnxruntime intra-op threads. Default 2. */
  threads: number;
  /** Execution providers in order of preference (the first that can be used runs the model). Default ['cpu']. */
  providers: string[];
  /** Inferences at once across streams. Default 1. */
  concurrency: number;
  /**
   * Worker threads that run the per-frame graph, each with its own copy of it (0: on the event
   * loop, where onnxruntime-node blocks it for every inference). Default: concurrency when it is
   * above 1, since runs on the event loop cannot overlap; otherwise 'auto': one worker for a graph
   * over 32 MiB (a real OWL-ViT), none for a small one (the bundled model).
   */
  inferenceWorkers?: number | 'auto';
  /** Streams opened at start. */
  streams: StreamSpec[];
  /** Per-client send buffer above which results are conflated, bytes. Default 1 MiB. */
  clientBufferBytes: number;
  /** A client further behind than this (ms; measured by a ping sent with its results) gets only
   * the newest result of each subscription, and a `missed` count, until it catches up. */
  clientMaxLagMs: number;
  /** On-demand streams: how long a source stays open after its last subscriber left, ms. Default 10000. */
  onDemandCloseMs: number;
  /** Ping clients this often, ms; a client that misses two pongs is dropped. Default 15000. */
  pingIntervalMs: number;
  /** On SIGTERM, keep serving this long (ms) with /healthz answering 503, so that a load balancer
   * stops sending clients here before they are closed. Default 0. */
  shutdownDelayMs: number;
  /** Directories file sources may read from (besides the fixtures). Default: none extra. */
  allowedDirs: string[];
  /** Whether streams may open V4L2 capture devices (/dev/videoN, `v4l2:/dev/videoN`). Default false. */
  allowDevices: boolean;
  /** URL protocols sources may use. Default rtsp, rtsps, http, https. */
  allowedProtocols: string[];
  /** Networks (CIDR) URL sources may not reach. Default link-local and cloud metadata addresses
   * (DEFAULT_DENIED_NETWORKS in ingest/url-policy.ts). */
  deniedNetworks: string[];
  /** Protocol limits (message size, queries per subscription, ...). */
  limits: Record<string, number>;
  /** Log level for pino. Env LOG_LEVEL. Default info. */
  logLevel: string;
  /** API tokens and their rights (watch, push, manage). Env GROUNDSTREAM_TOKEN adds one with all rights. */
  tokens: { token: string; rights: ('watch' | 'push' | 'manage')[]; name?: string; maxClients?: number }[];
  /** 'auto' (default): tokens required unless bound to loopback. */
  requireAuth: 'auto' | boolean;
  /** Origins browsers may connect from; empty = any. */
  allowedOrigins: string[];
  /** Connected clients at most. Default 256. */
  maxClients: number;
  /** Connections at once from one address other than loopback (a reverse proxy on this machine
   * makes every client loopback: cap tokens there, `tokens[].maxClients`). Default 32. */
  maxClientsPerAddress: number;
  /** Subscriptions per client. Default 16. */
  maxSubscriptionsPerClient: number;
  /** Distinct queries one client may hold on one stream, over all its subscriptions to it: the
   * stream's query budget (what the model takes in one run) is shared. Default 64. */
  maxQueriesPerClient: number;
  /** Streams at most. Default 32. */
  maxStreams: number;
  /** Frames a client may push per second to one stream. Default 60. */
  maxPushFps: number;
  /** Pixels in one pushed frame. Default 8294400 (3840 x 2160). */
  maxPushPixels: number;
}

export const DEFAULT_CONFIG: ServerConfig = Object.freeze({
  port: 8080,
  host: '127.0.0.1',
  threads: 2,
  providers: ['cpu'],
  concurrency: 1,
  streams: [],
  clientBufferBytes: 1024 * 1024,
  clientMaxLagMs: 1000,
  pingIntervalMs: 15_000,
  onDemandCloseMs: 10_000,
  shutdownDelayMs: 0,
  allowedDirs: [],
  allowDevices: false,
  allowedProtocols: ['rtsp', 'rtsps', 'http', 'https'],
  deniedNetworks: [...DEFAULT_DENIED_NETWORKS],
  limits: {},
  logLevel: 'info',
  tokens: [],
  requireAuth: 'auto',
  allowedOrigins: [],
  maxClients: 256,
  maxClientsPerAddress: 32,
  maxSubscriptionsPerClient: 16,
  maxQueriesPerClient: 64,
  maxStreams: 32,
  maxPushFps: 60,
  maxPushPixels: 3840 * 2160,
}) as ServerConfig;

function int(name: string, v: unknown, min: number, max: number): number {
  // text (environment variables) in decimal digits only: Number() would also take 0x46A5 and 1e4
  const n = typeof v === 'string' ? (/^\s*\d+\s*$/.test(v) ? Number(v) : NaN) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new GroundstreamError('CONFIG_INVALID', `${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Settings a layer may hold: a misspelt one is refused rather than silently ignored. */
const KNOWN_KEYS: ReadonlySet<string> = new Set([...Object.keys(DEFAULT_CONFIG), 'model', 'variant', 'threshold', 'nmsIou', 'inferenceWorkers']);

/** CONFIG_INVALID for the first key of `o` not in `known`. */
function onlyKnown(where: string, o: object, known: Iterable<string>): void {
  const allowed = new Set(known);
  const bad = Object.keys(o).find((k) => !allowed.has(k));
  if (bad !== undefined) {
    throw new GroundstreamError('CONFIG_INVALID', `unknown setting ${JSON.stringify(bad)}${where} (known: ${[...allowed].join(', ')})`);
  }
}

function parseStreams(v: unknown): StreamSpec[] {
  if (!Array.isArray(v)) throw new GroundstreamError('CONFIG_INVALID', 'streams must be an array');
  const seen = new Set<string>();
  return v.map((s, i) => {
    const o = s as Partial<StreamSpec>;
    if (!o || typeof o.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(o.id)) {
      throw new GroundstreamError('CONFIG_INVALID', `streams[${i}].id must be a short id (letters, digits, . _ : -)`);
    }
    if (seen.has(o.id)) throw new GroundstreamError('CONFIG_INVALID', `streams[${i}].id "${o.id}" is repeated`);
    seen.add(o.id);
    if (typeof o.source !== 'string' || !o.source) throw new GroundstreamError('CONFIG_INVALID', `streams[${i}].source is required`);
    onlyKnown(` in streams[${i}]`, o, STREAM_SPEC_KEYS);
    const problem = streamOptionProblem({ ...o, source: o.source });
    if (problem) throw new GroundstreamError('CONFIG_INVALID', `streams[${i}]: ${problem}`);
    return {
      id: o.id,
      source: o.source,
      realtime: o.realtime ?? true,
      loop: o.loop ?? false,
      ...(o.live !== undefined ? { live: o.live } : {}),
      ...(o.onDemand ? { onDemand: true } : {}),
      ...(o.rtspTransport ? { rtspTransport: o.rtspTransport } : {}),
    };
  });
}

function parseTokens(v: unknown): ServerConfig['tokens'] {
  if (!Array.isArray(v)) throw new GroundstreamError('CONFIG_INVALID', 'tokens must be an array');
  return v.map((t, i) => {
    const o = t as Record<string, unknown>;
    if (!o || typeof o.token !== 'string' || o.token.length < 16) {
      throw new GroundstreamError('CONFIG_INVALID', `tokens[${i}].token must be a string of at least 16 characters`);
    }
    onlyKnown(` in tokens[${i}]`, o, ['token', 'rights', 'name', 'maxClients']);
    const rights = o.rights ?? ['watch', 'push', 'manage'];
    if (!Array.isArray(rights) || !rights.every((r) => r === 'watch' || r === 'push' || r === 'manage')) {
      throw new GroundstreamError('CONFIG_INVALID', `tokens[${i}].rights must list watch, push and/or manage`);
    }
    return {
      token: o.token,
      rights: rights as ServerConfig['tokens'][number]['rights'],
      ...(typeof o.name === 'string' ? { name: o.name } : {}),
      ...(o.maxClients !== undefined ? { maxClients: int(`tokens[${i}].maxClients`, o.maxClients, 1, 100_000) } : {}),
    };
  });
}

/** Reads a JSON config file (missing or malformed -> CONFIG_INVALID). */
export function readConfigFile(path: string): Partial<ServerConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new GroundstreamError('CONFIG_INVALID', `${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GroundstreamError('CONFIG_INVALID', `${path}: the file must hold one JSON object`);
  }
  onlyKnown(` in ${path}`, parsed, KNOWN_KEYS);
  return parsed as Partial<ServerConfig>;
}

/** The environment variables groundstream reads (only here). */
export function fromEnv(env: NodeJS.ProcessEnv): Partial<ServerConfig> {
  const out: Partial<ServerConfig> = {};
  if (env.PORT) out.port = int('PORT', env.PORT, 0, 65535);
  if (env.HOST) out.host = env.HOST;
  if (env.GROUNDSTREAM_MODEL) out.model = env.GROUNDSTREAM_MODEL;
  if (env.LOG_LEVEL) out.logLevel = env.LOG_LEVEL;
  if (env.GROUNDSTREAM_TOKEN) out.tokens = [{ token: env.GROUNDSTREAM_TOKEN, rights: ['watch', 'push', 'manage'], name: 'env' }];
  return out;
}

/** The model settings a server may give instead of the model's own. */
function checkModelDefaults(c: ServerConfig): void {
  for (const k of ['model', 'variant'] as const) {
    if (c[k] !== undefined && (typeof c[k] !== 'string' || !c[k])) throw new GroundstreamError('CONFIG_INVALID', `${k} must be a non-empty string, got ${JSON.stringify(c[k])}`);
  }
  if (c.threshold !== undefined && !(typeof c.threshold === 'number' && c.threshold >= 0 && c.threshold <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `threshold must be a number in [0, 1], got ${JSON.stringify(c.threshold)}`);
  }
  if (c.nmsIou !== undefined && c.nmsIou !== null && !(typeof c.nmsIou === 'number' && c.nmsIou > 0 && c.nmsIou <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `nmsIou must be an IoU in (0, 1], or null (--nms off) for no NMS, got ${JSON.stringify(c.nmsIou)}`);
  }
}

/** Default inference workers: one per run at once; for one at a time, the model's size decides. */
const autoWorkers = (concurrency: number): number | 'auto' => (concurrency > 1 ? concurrency : 'auto');

/** Merges layers (later wins; `tokens` add up, so GROUNDSTREAM_TOKEN adds to the file's),
 * validates every field, and freezes the result. */
export function resolveConfig(...layers: Partial<ServerConfig>[]): Readonly<ServerConfig> {
  for (const l of layers) onlyKnown('', l, KNOWN_KEYS);
  const merged = Object.assign({}, DEFAULT_CONFIG, ...layers.map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined))));
  const tokenLayers = layers.filter((l) => l.tokens !== undefined).map((l) => l.tokens);
  if (tokenLayers.length > 1) {
    const bad = tokenLayers.find((t) => !Array.isArray(t)); // refused below, whichever layer it came from
    merged.tokens = bad !== undefined ? bad : tokenLayers.flat();
  }
  const concurrency = int('concurrency', merged.concurrency, 1, 64);
  const c: ServerConfig = {
    ...merged,
    port: int('port', merged.port, 0, 65535),
    threads: int('threads', merged.threads, 1, 256),
    concurrency,
    inferenceWorkers:
      merged.inferenceWorkers === undefined || merged.inferenceWorkers === 'auto'
        ? autoWorkers(concurrency)
        : int('inferenceWorkers', merged.inferenceWorkers, 0, 64),
    clientBufferBytes: int('clientBufferBytes', merged.clientBufferBytes, 1024, 1 << 30),
    clientMaxLagMs: int('clientMaxLagMs', merged.clientMaxLagMs, 100, 600_000),
    pingIntervalMs: int('pingIntervalMs', merged.pingIntervalMs, 100, 3_600_000),
    onDemandCloseMs: int('onDemandCloseMs', merged.onDemandCloseMs, 0, 86_400_000),
    shutdownDelayMs: int('shutdownDelayMs', merged.shutdownDelayMs, 0, 3_600_000),
    streams: parseStreams(merged.streams),
    maxClients: int('maxClients', merged.maxClients, 1, 100_000),
    maxClientsPerAddress: int('maxClientsPerAddress', merged.maxClientsPerAddress, 1, 100_000),
    maxSubscriptionsPerClient: int('maxSubscriptionsPerClient', merged.maxSubscriptionsPerClient, 1, 1024),
    maxQueriesPerClient: int('maxQueriesPerClient', merged.maxQueriesPerClient, 1, 100_000),
    maxStreams: int('maxStreams', merged.maxStreams, 1, 10_000),
    maxPushFps: int('maxPushFps', merged.maxPushFps, 1, 1000),
    maxPushPixels: int('maxPushPixels', merged.maxPushPixels, 1, 200_000_000),
    tokens: parseTokens(merged.tokens),
  };
  if (typeof c.limits !== 'object' || c.limits === null || Array.isArray(c.limits)) throw new GroundstreamError('CONFIG_INVALID', 'limits must be an object');
  resolveLimits(c.limits); // its bounds and names, checked now rather than when the server starts
  if (!(c.requireAuth === 'auto' || typeof c.requireAuth === 'boolean')) throw new GroundstreamError('CONFIG_INVALID', 'requireAuth must be "auto", true or false');
  if (typeof c.allowDevices !== 'boolean') throw new GroundstreamError('CONFIG_INVALID', 'allowDevices must be true or false');
  if (typeof c.host !== 'string' || !c.host) throw new GroundstreamError('CONFIG_INVALID', 'host must be a string');
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(c.logLevel)) throw new GroundstreamError('CONFIG_INVALID', `logLevel must be one of ${levels.join(', ')}`);
  for (const k of ['providers', 'allowedDirs', 'allowedProtocols', 'allowedOrigins'] as const) {
    if (!Array.isArray(c[k]) || !c[k].every((x) => typeof x === 'string')) throw new GroundstreamError('CONFIG_INVALID', `${k} must be a list of strings`);
  }
  deniedNetworkList(c.deniedNetworks); // each a CIDR, checked now rather than when a source opens
  if (!c.providers.length) throw new GroundstreamError('CONFIG_INVALID', 'providers must name at least one execution provider, e.g. ["cuda", "cpu"]');
  checkModelDefaults(c);
  return Object.freeze({ ...c, streams: Object.freeze(c.streams.map((s) => Object.freeze(s))) as StreamSpec[] });
}
