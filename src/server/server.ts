/**
 * groundstream's server: HTTP (health, streams API, pages) and the WebSocket protocol at /v1/ws,
 * over one model shared by every stream.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import type { ServerConfig, StreamSpec } from '../config/config.js';
import { GroundstreamError, isGroundstreamError } from '../errors.js';
import { openFfmpegSource } from '../ingest/create-source.js';
import { parseSourceUri, redactSecrets } from '../ingest/url-policy.js';
import { PushedFrameSource } from '../ingest/pushed-source.js';
import type { FrameSource } from '../ingest/index.js';
import type { GroundingModel } from '../model/index.js';
import { Limiter } from '../pipeline/limiter.js';
import type { PipelineOptions } from '../pipeline/stream-pipeline.js';
import { CLOSE_CODES, createClientMessageDecoder, resolveLimits, type ProtocolLimits } from '../protocol/index.js';
import { AnsweredError, ClientSession } from './client-session.js';
import { apiHandler, sendError, type Handler } from './http-api.js';
import { Auth, isLoopback, type Right } from './auth.js';
import { Metrics, type Refusal } from './metrics.js';
import { StreamManager, type SourceFactory } from './streams.js';
import { attachWebSocket } from './ws-server.js';
import { exactLagPong } from './lag-probe.js';

export const SERVER_VERSION = '0.1.0';
/** Text messages of one client waiting to be handled at which its socket is paused, and resumed. */
const TEXT_BACKLOG_HIGH = 64;
const TEXT_BACKLOG_LOW = 16;

export interface ServerDeps {
  config: Readonly<ServerConfig>;
  model: GroundingModel;
  /** Opens sources; default: ffmpeg for paths and URLs, pushed frames for "push". */
  openSource?: SourceFactory;
  /** Options of every stream's pipeline: tracker settings, or a replay's recorded tracks.
   * Default: the pipeline's defaults. */
  pipeline?: PipelineOptions;
  /** Directories file sources may read from, besides config.allowedDirs. */
  fileRoots?: string[];
  /** Extra HTTP handlers tried after the API (pages, metrics). */
  handlers?: Handler[];
  log?: { info(o: object | string, m?: string): void; warn(o: object | string, m?: string): void };
}

/** The working size a model wants its video at: ffmpeg scales to it, never the JS side. */
export function workingSizeFor(model: GroundingModel) {
  const s = model.info.imageSize;
  return {
    width: s,
    height: s,
    fit: model.info.family === 'owlv2' ? ('inside' as const) : ('stretch' as const),
    // pushed images are resized as the model's own preprocessing would (detect() on the same
    // image gives the same scores)
    ...(model.info.resample ? { kernel: model.info.resample } : {}),
  };
}

export function defaultSourceFactory(config: Readonly<ServerConfig>, fileRoots: string[]): SourceFactory {
  return async (spec: StreamSpec, model: GroundingModel): Promise<FrameSource> => {
    const size = workingSizeFor(model);
    if (spec.source === 'push') return new PushedFrameSource({ streamId: spec.id, size, maxPixels: config.maxPushPixels });
    const parsed = parseSourceUri(spec.source);
    const source =
      parsed.kind === 'url'
        ? { ...parsed, ...(spec.live === false ? { live: false } : {}), ...(spec.rtspTransport ? { rtspTransport: spec.rtspTransport } : {}) }
        : parsed;
    return openFfmpegSource(source, {
      streamId: spec.id,
      size,
      pacing: spec.realtime === false ? 'fast' : 'native',
      loop: spec.loop ?? false,
      access: {
        allowedProtocols: config.allowedProtocols,
        deniedNetworks: config.deniedNetworks,
        fileRoots: [...fileRoots, ...config.allowedDirs],
        allowDevices: config.allowDevices,
      },
    });
  };
}

/** HTTP auth: /healthz is open; reading the API and /metrics needs `watch` (a Prometheus scraper's
 * token should not be able to add streams), changing the API `manage`. */
function authHandler(auth: Auth, names: WeakMap<IncomingMessage, string>, refused: (req: IncomingMessage, why: string) => void): Handler {
  return (req, _res, url) => {
    if (url.pathname === '/healthz') return false;
    const isApi = url.pathname.startsWith('/v1/') || url.pathname === '/metrics';
    if (!isApi) return false; // pages carry no data; they connect with the token themselves
    const a = auth.authenticate(req); // (without tokens: where it comes from, Auth.refusal)
    if (a.ok) names.set(req, a.name); // for the log (who added or removed a stream)
    if (!a.ok) {
      refused(req, `${req.method} ${url.pathname}: ${a.reason}`);
      throw new GroundstreamError(a.status === 401 ? 'AUTH_REQUIRED' : 'AUTH_FORBIDDEN', a.reason);
    }
    const reads = req.method === 'GET' || req.method === 'HEAD';
    const need: Right = reads ? 'watch' : 'manage';
    if (!a.rights.has(need)) {
      refused(req, `${req.method} ${url.pathname}: token ${a.name} lacks the "${need}" right`);
      throw new GroundstreamError('AUTH_FORBIDDEN', `this token lacks the "${need}" right`);
    }
    return false;
  };
}

/** Where a request came from, for the log. */
const peer = (req: IncomingMessage): string => `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;

/** The address a connection counts against for maxClientsPerAddress: an IPv4 address, or an IPv6
 * address's /64 (one subscriber's network: anyone holds a whole /64, so per address would cap
 * nothing); null for loopback, which is not capped (everything is loopback behind a proxy on this
 * machine: tokens carry caps there). */
export function remoteKey(req: Pick<IncomingMessage, 'socket'>): string | null {
  const addr = req.socket.remoteAddress;
  if (addr === undefined) return null;
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  if (isLoopback(v4)) return null;
  return isIP(v4) === 6 ? `addr:${v6Prefix64(v4)}` : `addr:${v4}`;
}

/** The /64 an IPv6 address is in, as `a:b:c:d::/64` (hex groups without leading zeros). */
export function v6Prefix64(address: string): string {
  const bare = address.split('%', 1)[0]!.toLowerCase(); // (a zone id names an interface, not an address)
  const [head = '', tail] = bare.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** Source states an operator must hear of at warn: it cannot deliver. */
const TROUBLED = new Set(['reconnecting', 'stalled', 'failed']);
/** A stream's trouble that goes on unchanged is logged again this often, ms. */
const TROUBLE_REMINDER_MS = 10 * 60_000;

export class GroundstreamServer {
  readonly streams: StreamManager;
  readonly limits: ProtocolLimits;
  readonly http: Server;
  readonly metrics: Metrics;
  readonly auth: Auth;
  private readonly sessions = new Set<ClientSession>();
  /** Open connections per address (`addr:<ip>`) and per token (`token:<index>`). */
  private readonly connections = new Map<string, number>();
  private readonly ws: ReturnType<typeof attachWebSocket>;
  private readonly watch: Subscription[] = [];
  private readonly started = Date.now();
  private closing = false;
  /** drain() was called: /healthz says so, nothing else changes. */
  private draining = false;
  /** Results dropped by per-client conflation, all clients together. */
  missedResults = 0;
  /** New at each start: hello.instance, so that clients can tell a restart (seq starts again). */
  readonly instance = randomUUID();

  constructor(private readonly deps: ServerDeps) {
    const { config, model } = deps;
    this.limits = resolveLimits(config.limits as Partial<ProtocolLimits>);
    this.streams = new StreamManager(
      model,
      new Limiter(config.concurrency),
      deps.openSource ?? defaultSourceFactory(config, deps.fileRoots ?? []),
      deps.pipeline,
      config.onDemandCloseMs,
    );
    const decode = createClientMessageDecoder(this.limits);
    this.metrics = new Metrics(this.streams, () => this.sessions.size);
    const loopback = isLoopback(config.host);
    // "auto": required beyond loopback, and wherever tokens were given (whoever sets one expects it checked)
    const required = config.requireAuth === 'auto' ? !loopback || config.tokens.length > 0 : config.requireAuth;
    this.auth = new Auth({
      tokens: config.tokens,
      required,
      allowedOrigins: config.allowedOrigins,
      localOnly: !required && loopback,
      refuseProxied: !required && loopback && config.requireAuth === 'auto',
    });
    if (this.auth.required && config.tokens.length === 0) {
      const why = config.requireAuth === true ? 'requireAuth is true' : `host ${config.host} is beyond loopback`;
      throw new GroundstreamError('CONFIG_INVALID', `${why}: give API tokens (tokens, or GROUNDSTREAM_TOKEN), or set requireAuth: false`);
    }
    const tokenNames = new WeakMap<IncomingMessage, string>();
    const handlers = [
      authHandler(this.auth, tokenNames, (req, why) => deps.log?.warn({ peer: peer(req) }, `refused ${why}`)),
      apiHandler({
        streams: this.streams,
        health: (req) => this.health(this.mayWatch(req)),
        maxBodyBytes: 64 * 1024,
        maxStreams: config.maxStreams,
        who: (req) => tokenNames.get(req) ?? 'anonymous', // (authHandler ran first)
        ...(deps.log ? { log: deps.log } : {}),
      }),
      this.metrics.handler(),
      ...(deps.handlers ?? []),
    ];
    this.http = createServer((req, res) => {
      void (async () => {
        try {
          // Inside the try: some request targets (`//`, `//[`) are not URLs, and get a 400.
          let url: URL;
          try {
            url = new URL(req.url ?? '/', 'http://localhost');
          } catch {
            throw new GroundstreamError('HTTP_BAD_REQUEST', 'the request target is not a valid path');
          }
          for (const h of handlers) if (await h(req, res, url)) return;
          this.metrics.errors.inc({ code: 'HTTP_NOT_FOUND', via: 'http' });
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'HTTP_NOT_FOUND', message: `not found: ${url.pathname}` }));
        } catch (e) {
          if (!isGroundstreamError(e)) deps.log?.warn({ err: e }, 'http handler failed');
          else if (req.method !== 'GET' && req.method !== 'HEAD' && e.code !== 'AUTH_REQUIRED' && e.code !== 'AUTH_FORBIDDEN') {
            // a stream refused (a denied address, a path outside the allowed directories, ...): who
            // asked is the operator's business (the token refusals are logged where they happen)
            const by = tokenNames.get(req) ?? 'anonymous';
            deps.log?.warn({ peer: peer(req), by, code: e.code }, `refused ${req.method} ${(req.url ?? '').split('?')[0]} by ${by}: ${e.code}: ${redactSecrets(e.message)}`);
          }
          if (res.headersSent) res.end();
          else {
            // (counted when an answer can go: a client that hung up mid-request is no error of ours)
            if (!res.destroyed && !req.socket.destroyed) this.metrics.errors.inc({ code: isGroundstreamError(e) ? e.code : 'INTERNAL', via: 'http' });
            sendError(res, e);
          }
        }
      })();
    });
    this.ws = attachWebSocket(
      this.http,
      { path: '/v1/ws', maxPayload: Math.max(this.limits.maxMessageBytes, this.limits.maxFrameBytes) + 1024, pingIntervalMs: config.pingIntervalMs, maxLagMs: config.clientMaxLagMs },
      {
        accept: (req) => {
          if (this.closing) return { close: CLOSE_CODES.GOING_AWAY, reason: 'server shutting down', why: 'shutting_down' satisfies Refusal };
          const a = this.auth.authenticate(req);
          const refuse = (close: number, why: Refusal, reason: string) => {
            deps.log?.warn({ peer: peer(req), close }, `refused a WebSocket client (close code ${close}): ${reason}`);
            return { close, reason, why };
          };
          if (!a.ok) return a.status === 401 ? refuse(CLOSE_CODES.UNAUTHORIZED, 'unauthorized', a.reason) : refuse(CLOSE_CODES.FORBIDDEN, 'forbidden', a.reason);
          if (this.sessions.size >= config.maxClients) return refuse(CLOSE_CODES.TRY_AGAIN_LATER, 'max_clients', `at most ${config.maxClients} clients`);
          const from = remoteKey(req);
          if (from !== null && (this.connections.get(from) ?? 0) >= config.maxClientsPerAddress) {
            return refuse(CLOSE_CODES.TRY_AGAIN_LATER, 'per_address', `at most ${config.maxClientsPerAddress} clients from one address`);
          }
          if (a.token !== undefined && a.maxClients !== undefined && (this.connections.get(`token:${a.token}`) ?? 0) >= a.maxClients) {
            return refuse(CLOSE_CODES.TRY_AGAIN_LATER, 'per_token', `at most ${a.maxClients} clients with token ${JSON.stringify(a.name)}`);
          }
          return null;
        },
        refused: (why) => this.metrics.refusedConnections.inc({ reason: why }),
        open: (socket, req, out) => {
          const a = this.auth.authenticate(req);
          const rights: ReadonlySet<Right> = a.ok ? a.rights : new Set();
          // what this connection counts against (maxClientsPerAddress, tokens[].maxClients)
          const counted = [remoteKey(req), a.ok && a.token !== undefined ? `token:${a.token}` : null].filter((k) => k !== null);
          for (const k of counted) this.connections.set(k, (this.connections.get(k) ?? 0) + 1);
          const session = new ClientSession(
            {
              clientId: randomUUID(),
              serverVersion: SERVER_VERSION,
              model,
              streams: this.streams,
              decode,
              limits: this.limits,
              maxSubscriptions: config.maxSubscriptionsPerClient,
              maxQueriesPerClient: config.maxQueriesPerClient,
              rights,
              maxPushFps: config.maxPushFps,
              maxPushPixels: config.maxPushPixels,
              clientBufferBytes: config.clientBufferBytes,
              instance: this.instance,
              onError: (code) => this.metrics.errors.inc({ code, via: 'ws' }),
              onMissed: (n) => {
                this.missedResults += n;
                this.metrics.missedResults.inc(n);
              },
            },
            out,
          );
          this.sessions.add(session);
          session.hello();
          out.lag.greeted();
          // one client's failure is its own: log it, answer it, keep serving everyone else
          const guard = (p: Promise<void>) =>
            p.catch((e: unknown) => {
              const answered = e instanceof AnsweredError;
              deps.log?.warn({ err: answered ? e.original : e }, 'client message failed');
              if (!answered) session.send({ type: 'error', code: 'INTERNAL', message: 'internal error' });
            });
          // Text messages are handled one at a time (in order); while many wait, stop reading
          // this client's socket, so that a flood waits in its TCP buffers, not in our memory.
          let waiting = 0;
          const text = (d: Buffer) => {
            // A lag probe's answer counts when it arrives, not when its turn in the queue comes
            // (a request that takes a while would make it late: lag-probe.ts, appPong).
            const answer = exactLagPong(d);
            if (answer !== undefined) return out.lag.appPong(answer); // (nothing more to do: see exactLagPong)
            if (d.length <= 64 && d.includes('"lag')) out.lag.appPong(lagPongId(d));
            if (++waiting > TEXT_BACKLOG_HIGH && !socket.isPaused) {
              socket.pause(); // (the heartbeat and the lag probe leave a paused socket alone: its pongs wait unread)
              this.metrics.clientPauses.inc();
            }
            void guard(session.onText(d)).finally(() => {
              if (--waiting <= TEXT_BACKLOG_LOW && socket.isPaused) {
                socket.resume();
                out.lag.readingResumed();
              }
            });
          };
          return {
            text,
            binary: (d) => void guard(session.onBinary(d)),
            close: () => {
              session.close();
              this.sessions.delete(session);
              for (const k of counted) {
                const n = (this.connections.get(k) ?? 1) - 1;
                if (n > 0) this.connections.set(k, n);
                else this.connections.delete(k);
              }
            },
          };
        },
      },
    );
    this.watch.push(
      this.streams.status$.subscribe((s) => {
        // an operator reads these in the log: a camera that went away, a file that ended
        const line = `stream ${s.stream}: ${s.state}${s.detail ? ` (${s.detail})` : ''}`;
        const fields = { stream: s.stream, state: s.state, ...(s.code ? { code: s.code } : {}), ...(s.detail ? { detail: s.detail } : {}) };
        if (!TROUBLED.has(s.state)) {
          this.troubleLogged.delete(s.stream);
          deps.log?.info(fields, line);
        } else {
          // A camera that stays away retries every 30 s for as long as it is away: its trouble is
          // logged when it starts or changes, then once every TROUBLE_REMINDER_MS with a count.
          const key = `${s.state}/${s.code ?? ''}`;
          const was = this.troubleLogged.get(s.stream);
          const now = Date.now();
          if (was?.key === key && now - was.at < TROUBLE_REMINDER_MS) was.quiet++;
          else {
            const still = was?.key === key ? ` (and ${was.quiet} times more since it was last logged)` : '';
            this.troubleLogged.set(s.stream, { key, at: now, quiet: 0 });
            deps.log?.warn(fields, line + still);
          }
        }
        for (const c of this.sessions) if (c.watches) c.send({ type: 'status', ...s });
        if (s.state === 'ended' || s.state === 'failed') {
          for (const c of this.sessions) c.streamGone(s.stream, s.state === 'ended' ? 'stream-ended' : 'stream-failed');
        }
      }),
      this.streams.results$.subscribe((r) => {
        if (r.error) return this.inferenceFailed(r.stream, r.error, deps.log);
        this.metrics.inferenceSeconds.observe({ stream: r.stream }, (r.timings.decode + r.timings.infer) / 1000);
        this.metrics.latencySeconds.observe({ stream: r.stream }, r.timings.total / 1000);
      }),
      this.streams.removed$.subscribe((id) => {
        // (logged by the API with who removed it)
        for (const k of this.failures.keys()) if (k.startsWith(`${id}\0`)) this.failures.delete(k);
        this.troubleLogged.delete(id);
        // everyone's stream list learns it is gone (hello listed it), then its subscribers
        for (const c of this.sessions) if (c.watches) c.send({ type: 'status', stream: id, state: 'ended', detail: 'removed' });
        for (const c of this.sessions) c.streamGone(id, 'stream-removed');
      }),
    );
  }

  /**
   * What /healthz says. Without `detail` (a server that needs tokens, asked without one that may
   * watch: a load balancer's probe), the status alone; the streams, model and clients are for
   * those who may see the streams.
   */
  health(detail = true) {
    const status = this.closing || this.draining ? 'shutting-down' : 'ok';
    if (!detail) return { status };
    return {
      status,
      version: SERVER_VERSION,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      model: this.deps.model.info,
      streams: this.streams.list().map((e) => this.streams.info(e)),
      clients: this.sessions.size,
    };
  }

  /** Whether `req` may see the streams (no token needed, or its token has the watch right). */
  private mayWatch(req: IncomingMessage): boolean {
    const a = this.auth.authenticate(req); // (without tokens: every right, unless refused where it comes from)
    return a.ok && a.rights.has('watch');
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  /** Opens the configured streams and listens; resolves with the base URL. */
  async listen(): Promise<string> {
    const streams = this.deps.config.streams;
    for (const [i, s] of streams.entries()) {
      try {
        await this.streams.add(s);
      } catch (e) {
        await this.close(); // the streams opened before the one that failed (and their ffmpeg) too
        // which of the configured streams it was (the same code: a site with eight cameras needs to know)
        throw isGroundstreamError(e) ? new GroundstreamError(e.code, `streams[${i}] (${JSON.stringify(s.id)}): ${e.detail}`, { cause: e }) : e;
      }
    }
    const { port, host: bind } = this.deps.config;
    try {
      await new Promise<void>((resolve, reject) => {
        this.http.once('error', reject);
        this.http.listen(port, bind, () => resolve());
      });
    } catch (e) {
      await this.close(); // the streams opened above (and their ffmpeg) must not outlive this
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'the port is in use (choose another with PORT or --port)' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
      throw new GroundstreamError('SERVER_LISTEN_FAILED', `${bind}:${port}: ${why}`, { cause: e });
    }
    const a = this.http.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /** Per stream and error code: when a failure was last logged, and how many since. */
  private readonly failures = new Map<string, { at: number; since: number }>();
  /** Per stream in trouble: what was last logged, when, and how many like it went unlogged since. */
  private readonly troubleLogged = new Map<string, { key: string; at: number; quiet: number }>();

  /** An inference failed (clients watching get an `error` each): said in the log, so that an
   * operator sees a model that fails on every frame, not only /metrics. */
  private inferenceFailed(stream: string, error: { code: string; message: string }, log: ServerDeps['log']): void {
    const key = `${stream}\0${error.code}`;
    const now = performance.now();
    const f = this.failures.get(key);
    if (f && now - f.at < FAILURE_LOG_INTERVAL_MS) {
      f.since++;
      return;
    }
    this.failures.set(key, { at: now, since: 0 });
    const more = f?.since ? ` (and ${f.since} more since it was last logged)` : '';
    log?.warn({ stream, code: error.code }, `stream ${stream}: ${error.code}: ${error.message}${more}`);
  }

  /** The first step of a delayed shutdown (shutdownDelayMs): /healthz answers 503 from now on, so
   * that a load balancer stops sending clients here, while everything else goes on as before;
   * close() follows. */
  drain(): void {
    this.draining = true;
  }

  /** Graceful stop: refuse new clients, close clients with 1001, stop sources and their ffmpeg. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const w of this.watch) w.unsubscribe();
    await this.ws.close(1001);
    for (const s of this.sessions) s.close();
    this.sessions.clear();
    await this.streams.closeAll();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections?.();
    });
  }
}

/** Inference failures are logged at most once a minute per stream and code (the first at once):
 * a model that fails on every frame would otherwise write 30 lines a second. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/** The id of a client's `pong` message (a small one that names a lag probe), or undefined. */
export function lagPongId(d: Buffer): string | undefined {
  try {
    const m = JSON.parse(d.toString('utf8')) as { type?: unknown; id?: unknown };
    return m?.type === 'pong' && typeof m.id === 'string' ? m.id : undefined;
  } catch {
    return undefined; // (the queue answers it with an error, as any bad message)
  }
}
