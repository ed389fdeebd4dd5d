/** `groundstream serve` (and `npm start`): the server on a model, with streams from config. */
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import pretty from 'pino-pretty';
import { fromEnv, readConfigFile, resolveConfig, type ServerConfig, type StreamSpec } from '../config/config.js';
import { GroundstreamError } from '../errors.js';
import { configureFfmpeg } from '../ingest/ffmpeg-binary.js';
import { loadModel } from '../model/index.js';
import { GroundstreamServer } from '../server/server.js';
import { webHandler } from '../server/web.js';
import { logOutput } from './log-output.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures', import.meta.url));
/** The demo stream: a fixture clip looped at its own frame rate, named relative to the fixtures directory (a file root of its own): found from
 * any working directory, and the stream list shows no path of the server's machine. */
export const DEMO_STREAM: StreamSpec = { id: 'demo', source: 'clips/clip03-640x360-crowded.mp4', realtime: true, loop: true };

export interface ServeFlags {
  config?: string;
  port?: number;
  host?: string;
  model?: string;
  variant?: string;
  provider?: string[];
  threshold?: number;
  /** An IoU, or 'off' for no NMS. */
  nms?: number | 'off';
  stream?: string[];
  demo?: boolean;
  concurrency?: number;
  inferenceWorkers?: number | 'auto';
  threads?: number;
  allowDir?: string[];
  allowDevices?: boolean;
  shutdownDelay?: number;
  logLevel?: string;
  ffmpeg?: string;
}

function parseStreamFlag(s: string): StreamSpec {
  const i = s.indexOf('=');
  if (i <= 0) throw new GroundstreamError('CONFIG_INVALID', `--stream wants id=source, got ${JSON.stringify(s)}`);
  const opts = s.slice(i + 1).split('#');
  const source = opts.shift()!;
  const unknown = opts.find((o) => !['fast', 'loop', 'finite', 'ondemand', 'udp'].includes(o));
  if (unknown !== undefined) throw new GroundstreamError('CONFIG_INVALID', `--stream option #${unknown}: #fast, #loop, #finite, #ondemand or #udp`);
  // only what was asked for: an option that does not fit the source is refused (config.ts)
  return {
    id: s.slice(0, i),
    source,
    ...(opts.includes('fast') ? { realtime: false } : {}),
    ...(opts.includes('loop') ? { loop: true } : {}),
    ...(opts.includes('finite') ? { live: false } : {}),
    ...(opts.includes('ondemand') ? { onDemand: true } : {}),
    ...(opts.includes('udp') ? { rtspTransport: 'udp' as const } : {}),
  };
}

/**
 * The server's URL as others can open it: bound to every interface (0.0.0.0, ::), `http://0.0.0.0`
 * opens nothing anywhere, so the machine's first network address stands in (this machine's
 * loopback when it has none).
 */
export function reachableUrl(url: string, interfaces = networkInterfaces()): string {
  const u = new URL(url);
  if (u.hostname !== '0.0.0.0' && u.hostname !== '[::]') return url;
  const own = Object.values(interfaces)
    .flat()
    .find((n) => n && n.family === 'IPv4' && !n.internal)?.address;
  u.hostname = own ?? '127.0.0.1';
  return u.origin;
}

export function serveConfig(flags: ServeFlags, env: NodeJS.ProcessEnv): Readonly<ServerConfig> {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const fromFlags: Partial<ServerConfig> = {
    port: flags.port,
    host: flags.host,
    model: flags.model,
    variant: flags.variant,
    providers: flags.provider,
    threshold: flags.threshold,
    nmsIou: flags.nms === 'off' ? null : flags.nms,
    concurrency: flags.concurrency,
    inferenceWorkers: flags.inferenceWorkers,
    threads: flags.threads,
    logLevel: flags.logLevel,
    allowedDirs: flags.allowDir,
    allowDevices: flags.allowDevices,
    shutdownDelayMs: flags.shutdownDelay,
  };
  const streams = [...(file.streams ?? []), ...(flags.stream ?? []).map(parseStreamFlag)];
  // The demo is for a server given nothing to watch (npm start): a site's own cameras replace it.
  if (flags.demo !== false && streams.length === 0) streams.push(DEMO_STREAM);
  return resolveConfig(file, fromEnv(env), fromFlags, { streams });
}

export async function runServe(flags: ServeFlags): Promise<void> {
  const config = serveConfig(flags, process.env);
  // Lines for people on a terminal, JSON for machines (LOG_FORMAT=json|pretty overrides).
  const format = process.env.LOG_FORMAT || (process.stdout.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty' && format !== 'json') throw new GroundstreamError('CONFIG_INVALID', `LOG_FORMAT must be json or pretty, got ${JSON.stringify(format)}`);
  // Standard output, asynchronous and bounded (log-output.ts): a stalled or vanished log reader
  // costs log lines, never the server. Its problems are said once on stderr.
  process.stderr.on('error', () => {}); // (nowhere left to say anything)
  const output = logOutput((text) => process.stderr.write(`groundstream: ${text}\n`));
  process.stdout.on('error', () => {}); // the banner's writes (pretty mode): the same fd, reported through output
  const destination =
    format === 'pretty' ? pretty({ destination: output.stream, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', hideObject: true }) : output.stream;
  const log = pino({ level: config.logLevel }, destination);
  const ff = configureFfmpeg({ override: flags.ffmpeg });
  log.info({ ffmpeg: ff.path, origin: ff.origin }, `using ffmpeg (${ff.origin === 'bundled' ? 'bundled with @ffmpeg-installer/ffmpeg' : ff.origin === 'path' ? 'from PATH' : 'as configured'}): ${ff.path}`);
  const model = await loadModel(config.model, {
    variant: config.variant,
    threshold: config.threshold,
    nmsIou: config.nmsIou,
    session: { intraOpThreads: config.threads, executionProviders: config.providers, workers: config.inferenceWorkers },
    log: (m) => log.info(m),
    warn: (m) => log.warn(m),
  });
  const { info } = model;
  log.info(
    { model: info },
    `model ${info.name} (${info.family}, ${info.mode} graphs, on ${info.executionProviders.join(', ')}; threshold ${info.threshold}, NMS ${info.nmsIou ?? 'off'})`,
  );
  const server = new GroundstreamServer({ config, model, fileRoots: [FIXTURES_DIR], handlers: [webHandler()], log });
  let url: string;
  try {
    url = reachableUrl(await server.listen());
  } catch (e) {
    await model.close(); // (its worker threads, if any, would keep the process alive)
    throw e;
  }
  const ws = url.replace(/^http/, 'ws');
  const first = config.streams[0] ? encodeURIComponent(config.streams[0].id) : '<stream>'; // none with --no-demo and no --stream
  const token = server.auth.required ? '#token=YOUR_TOKEN' : ''; // pages take the token in the fragment
  // The model is always closed before the process exits: ending the process while a worker thread
  // is inside onnxruntime aborts it (see onnx-workers.ts), so even the forced and the crash paths
  // close it first.
  let stopping = false;
  /** Ends the drain delay early (a second signal). */
  let endDelay: (() => void) | undefined;
  /** The exit code of a stop that came while another waited out its delay (a crash meanwhile). */
  let lateCode = 0;
  const stop = async (why: string, code: number, delayMs = 0) => {
    if (stopping) {
      lateCode ||= code;
      if (endDelay) log.info(`${why}: not waiting out the shutdown delay`);
      endDelay?.();
      return;
    }
    stopping = true;
    if (delayMs > 0) {
      // a load balancer sees /healthz fail and stops sending clients; those here are served on
      server.drain();
      log.info(`${why}: /healthz answers 503; shutting down in ${delayMs} ms (another SIGTERM or SIGINT: at once)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        endDelay = () => (clearTimeout(timer), resolve());
      });
      endDelay = undefined;
      code ||= lateCode;
    }
    log.info(`${why}: shutting down`);
    const force = setTimeout(() => {
      log.error('shutdown is taking over 10 s: closing the model and exiting');
      void model.close().finally(() => process.exit(1));
    }, 10_000);
    force.unref();
    try {
      await server.close();
    } catch (e) {
      log.error({ err: e }, 'server close failed');
      code = code || 1;
    }
    await model.close();
    clearTimeout(force);
    log.info(`stopped (exit code ${code})`);
    await output.drain(1000); // what the log reader has not taken by then is lost
    process.exit(code);
  };
  // (the delay is for an orchestrator's SIGTERM; Ctrl-C, a person at a terminal, stops at once)
  process.on('SIGTERM', () => void stop('SIGTERM', 0, config.shutdownDelayMs));
  process.on('SIGINT', () => void stop('SIGINT', 0));
  // (at error, not fatal: pino's fatal flushes synchronously, which a stalled log reader blocks)
  process.on('uncaughtException', (e) => {
    log.error({ err: e }, `uncaught exception: ${e instanceof Error ? e.message : String(e)}`);
    void stop('uncaught exception', 1);
  });
  process.on('unhandledRejection', (e) => {
    log.error({ err: e }, `unhandled rejection: ${e instanceof Error ? e.message : String(e)}`);
    void stop('unhandled rejection', 1);
  });
  // announced once the signal handlers are in place: whoever waits for this line may stop it
  const urls = {
    url,
    viewer: `${url}/${token}`,
    overlay: `${url}/overlay?stream=${first}&q=purple+circle&q=star${token}`,
    websocket: `${ws}/v1/ws`,
    health: `${url}/healthz`,
    streams: `${url}/v1/streams`,
  };
  if (format === 'pretty') {
    process.stdout.write(
      [
        `groundstream listening on ${url}`,
        `  viewer    ${urls.viewer}`,
        `  overlay   ${urls.overlay}`,
        `  websocket ${urls.websocket}`,
        `  health    ${urls.health}   streams ${urls.streams}`,
        '',
      ].join('\n'),
    );
  } else {
    // one JSON line like the others (a log collector reads stdout line by line), whatever the level
    log.child({}, { level: 'info' }).info(urls, `groundstream listening on ${url}`);
  }
}
