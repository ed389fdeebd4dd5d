/**
 * `groundstream replay <recording>`: serves a recording to clients as it was received, through
 * the real server (sessions, back-pressure, protocol), with a RecordedModel in place of the
 * network and a ReplayFrameSource in place of ffmpeg. No model is loaded.
 */
import { DEFAULT_CONFIG, fromEnv, resolveConfig, type ServerConfig } from '../config/config.js';
import { DEFAULT_LIMITS } from '../protocol/limits.js';
import { GroundstreamError } from '../errors.js';
import { readSession, type Session } from '../record/read-session.js';
import { RecordedModel } from '../record/recorded-model.js';
import { ReplayFrameSource, replayFrames, type ReplaySpeed } from '../record/replay-source.js';
import { GroundstreamServer } from '../server/server.js';
import { isLoopback } from '../server/auth.js';
import { webHandler } from '../server/web.js';

export interface ReplayServerOptions {
  readonly session: Session;
  /** Shown as the stream's `source` in GET /v1/streams. */
  readonly path?: string;
  /** Server settings (port, host, tokens, ...); streams are set here. Default port 8080. */
  readonly config?: Partial<ServerConfig>;
  /** Default 1 (the recorded timing). */
  readonly speed?: ReplaySpeed;
  readonly loop?: boolean;
  /** Hold playback until a client subscribes to the stream, so it sees the recording from its
   * first result. Default true; false plays at once (frames nobody watches are skipped). */
  readonly waitForSubscriber?: boolean;
  /** Serve the stream under this id. Default: the recorded stream's. */
  readonly streamId?: string;
  /** Serve the viewer and overlay pages too. Default false. */
  readonly pages?: boolean;
}

export interface ReplayServer {
  readonly server: GroundstreamServer;
  /** Base URL, http://host:port. */
  readonly url: string;
  readonly streamId: string;
  /** Settles when the replay stream reached its end (never with `loop`). */
  readonly ended: Promise<void>;
  /** Settles when a client first subscribed to the stream. */
  readonly subscribed: Promise<void>;
  close(): Promise<void>;
}

/**
 * Protocol limits that let a client subscribe with every recorded query: the recorder's server
 * may have allowed more than the default 32 in one subscription, and a replay has no config file
 * to raise it. Limits the caller set higher stay.
 */
function recordedQueryLimits(session: Session, config: Partial<ServerConfig>): Partial<ServerConfig> {
  const n = session.header.queries.length;
  const limits = { ...DEFAULT_LIMITS, ...(config.limits ?? {}) };
  return {
    limits: { ...(config.limits ?? {}), maxQueries: Math.max(limits.maxQueries, n) },
    maxQueriesPerClient: Math.max(config.maxQueriesPerClient ?? DEFAULT_CONFIG.maxQueriesPerClient, n),
  };
}

/** Starts a server that plays `session` as its one stream. */
export async function startReplayServer(o: ReplayServerOptions): Promise<ReplayServer> {
  const { session } = o;
  const streamId = o.streamId ?? session.header.stream;
  const model = new RecordedModel(session);
  const config = resolveConfig(o.config ?? {}, {
    streams: [{ id: streamId, source: o.path ?? `recording of ${session.header.stream}`, realtime: o.speed !== 'max', loop: o.loop ?? false }],
    ...recordedQueryLimits(session, o.config ?? {}),
  });
  let server: GroundstreamServer | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  const firstSubscriber = new Promise<void>((resolve) => {
    // the server has no subscription event to hook; polling its pipeline costs nothing (every
    // 2 ms while playback waits on it; without that wait only --wait-timeout asks, less often)
    poll = setInterval(() => {
      if ((server?.streams.get(streamId)?.pipeline.subscribers ?? 0) > 0) {
        clearInterval(poll);
        resolve();
      }
    }, o.waitForSubscriber === false ? 50 : 2);
    poll.unref(); // the server's socket keeps the process alive, not this
  });
  let source: ReplayFrameSource | undefined;
  try {
    server = startServer();
  } catch (e) {
    clearInterval(poll);
    throw e;
  }
  function startServer(): GroundstreamServer {
    return new GroundstreamServer({
    config,
    model,
    // the recording carries the live server's track IDs and lost IDs: serve them as they are
    pipeline: { tracker: model.tracker() },
    openSource: async (spec) => {
      if (spec.id !== streamId || source) throw new GroundstreamError('INGEST_SOURCE_INVALID', `a replay server plays only its recording (stream "${streamId}")`);
      source = new ReplayFrameSource({
        streamId,
        frames: replayFrames(session),
        speed: o.speed ?? 1,
        loop: o.loop ?? false,
        ...(o.waitForSubscriber === false ? {} : { hold: firstSubscriber }),
        pixels: (i) => model.placeholder(i),
      });
      return source;
    },
    handlers: o.pages ? [webHandler()] : [],
    });
  }
  let url: string;
  try {
    url = await server.listen();
  } catch (e) {
    clearInterval(poll);
    await server.close().catch(() => undefined);
    throw e;
  }
  const ended = new Promise<void>((resolve) => {
    source!.status$.subscribe({ complete: () => resolve() });
  });
  const s = server;
  return {
    server: s,
    url,
    streamId,
    ended,
    subscribed: firstSubscriber,
    close: async () => {
      clearInterval(poll);
      await s.close();
    },
  };
}

export interface ReplayFlags {
  port?: number;
  host?: string;
  speed?: string;
  loop?: boolean;
  wait?: boolean;
  stream?: string;
  exit?: boolean;
  token?: string;
  /** Seconds to wait for a first subscriber before giving up with exit code 1. Default: for ever. */
  waitTimeout?: number;
}

export function parseSpeed(v: string | undefined): ReplaySpeed {
  if (v === undefined) return 1;
  if (v === 'max') return 'max';
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new GroundstreamError('CONFIG_INVALID', `--speed wants a positive number or "max", got ${JSON.stringify(v)}`);
  return n;
}

/** --token, and GROUNDSTREAM_TOKEN where a token is wanted anyway (beyond loopback, or with
 * --token): on loopback an exported variable alone does not lock the printed links out. */
function replayTokens(flag: string | undefined, host: string | undefined, env: NodeJS.ProcessEnv): Partial<ServerConfig> {
  const fromFlag = flag ? [{ token: flag, rights: ['watch' as const], name: 'flag' }] : [];
  const beyond = !isLoopback(host ?? '127.0.0.1');
  const all = [...fromFlag, ...(fromFlag.length > 0 || beyond ? (fromEnv(env).tokens ?? []) : [])];
  // said here: the server's own advice names config settings (requireAuth) a replay has not got
  if (beyond && !all.length) throw new GroundstreamError('CONFIG_INVALID', `host ${host} is beyond loopback: give a token clients must present (--token T, or GROUNDSTREAM_TOKEN)`);
  return all.length ? { tokens: all } : {};
}

/** Resolves after `seconds` unless `first` settles first; true when it timed out. */
function timedOut(first: Promise<void>, seconds: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    first.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), seconds * 1000))),
  ]).finally(() => clearTimeout(timer));
}

export async function runReplay(path: string, flags: ReplayFlags, out = process.stdout, env = process.env, err = process.stderr): Promise<number> {
  if (flags.waitTimeout !== undefined && !(flags.waitTimeout > 0 && Number.isFinite(flags.waitTimeout))) {
    throw new GroundstreamError('CONFIG_INVALID', `--wait-timeout must be a positive number of seconds, got ${flags.waitTimeout}`);
  }
  const session = readSession(path);
  const speed = parseSpeed(flags.speed);
  const { header, results } = session;
  // PORT and HOST as for serve; the flags win
  const envConfig = fromEnv(env);
  const port = flags.port ?? envConfig.port;
  const host = flags.host ?? envConfig.host;
  const replay = await startReplayServer({
    session,
    path,
    config: {
      ...(port !== undefined ? { port } : {}),
      ...(host ? { host } : {}),
      // beyond loopback a server wants tokens: --token, or GROUNDSTREAM_TOKEN as for serve
      ...replayTokens(flags.token, host, env),
    },
    speed,
    loop: flags.loop ?? false,
    waitForSubscriber: flags.wait !== false,
    ...(flags.stream ? { streamId: flags.stream } : {}),
    pages: true,
  });
  const seconds = results.length > 1 ? (results.at(-1)!.receivedAt - results[0]!.receivedAt) / 1000 : 0;
  const subscribe = { type: 'subscribe', id: 'replay', stream: replay.streamId, queries: header.queries, threshold: header.threshold };
  out.write(
    [
      `replaying ${results.length} results (${speed === 'max' ? `recorded over ${seconds.toFixed(1)} s, played as fast as clients read` : `${seconds.toFixed(1)} s at speed ${speed}`}) from ${session.files.length} file(s)${session.truncated ? `, ${session.truncated} incomplete line(s) skipped` : ''}`,
      `  websocket ${replay.url.replace(/^http/, 'ws')}/v1/ws`,
      `  stream    ${replay.streamId}, queries ${header.queries.map((q) => JSON.stringify(q)).join(', ')}, threshold ${header.threshold}`,
      `  subscribe ${JSON.stringify(subscribe)}`,
      `  viewer    ${replay.url}/?stream=${encodeURIComponent(replay.streamId)}${header.queries.map((q) => `&q=${encodeURIComponent(q)}`).join('')}`,
      flags.wait === false ? '  playing now' : '  playback starts when the first client subscribes',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await replay.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  // nobody subscribing (a client refused, or never started) must not leave a CI job hanging
  if (flags.waitTimeout !== undefined && (await timedOut(replay.subscribed, flags.waitTimeout))) {
    err.write(`error: no client subscribed to ${replay.streamId} in ${flags.waitTimeout} s (--wait-timeout)\n`);
    await stop();
    return 1;
  }
  if (flags.exit) {
    await replay.ended;
    await stop();
  }
  return 0;
}
