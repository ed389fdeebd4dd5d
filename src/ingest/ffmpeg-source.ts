/**
 * A frame source decoded by ffmpeg: a file, an HTTP(S)/HLS or RTSP URL, or a V4L2 device. One
 * ffmpeg process at a time writes raw RGB at the working size to its stdout; frames are cut in
 * place (FramePump), stamped, and emitted. Live inputs reconnect with backoff when ffmpeg exits or
 * stalls; a file ends as `ended`, or `failed` when ffmpeg could not read it.
 */
import { GroundstreamError } from '../errors.js';
import { BACKOFF_DEFAULTS, backoffDelay, type BackoffOptions } from './backoff.js';
import { buildDecodeArgs, type DecodeArgs, type DecodeOptions } from './ffmpeg-args.js';
import { bundledFfmpeg, FFMPEG_ENV, ffmpegPath as defaultFfmpegPath } from './ffmpeg-binary.js';
import { FfmpegLog } from './ffmpeg-log.js';
import { runFfmpeg, type FfmpegExit, type FfmpegRun } from './ffmpeg.js';
import { FramePump } from './frame-pump.js';
import { hostAddresses, pinTo, urlHost, type HostLookup } from './host-pin.js';
import type { BackpressurePolicy, Pacing, WorkingSize } from './frame-source.js';
import { FrameSourceBase } from './frame-source-base.js';
import { checkDestination, type ResolvedInput } from './url-policy.js';

/** How late a paced frame may come before pacing starts again from it (ms). */
const REANCHOR_MS = 500;

export interface FfmpegSourceOptions {
  readonly streamId: string;
  /** What to open, already checked against the policy (resolveSource in url-policy.ts). */
  readonly input: ResolvedInput;
  /** Size frames are emitted at; ffmpeg scales, so full-size frames never reach JS. Default: the
   * source's own size. */
  readonly size?: WorkingSize;
  /** swscale algorithm. Default 'bilinear'. */
  readonly scaler?: DecodeOptions['scaler'];
  /** Default 'latest'. */
  readonly policy?: BackpressurePolicy;
  /** Files and non-live URLs only. Default 'native'. */
  readonly pacing?: Pacing;
  /** Files only: start again at the end, seq and pts still counting up. Default false. */
  readonly loop?: boolean;
  /** A source that yields no frame for this long (while the consumer is ready for one) is
   * `stalled`; a live one is then restarted. ms, default 10_000. */
  readonly stallTimeoutMs?: number;
  /** Live inputs: delays between reconnects. */
  readonly backoff?: BackoffOptions;
  /** Default: the process-wide binary (ffmpeg-binary.ts). */
  readonly ffmpegPath?: string;
  /** Random numbers in [0, 1) for the backoff jitter. Default Math.random. */
  readonly random?: () => number;
  /** URLs: look the host name up here on each (re)connect and give ffmpeg the address
   * (host-pin.ts). Default: only for the bundled ffmpeg on Linux, which crashes on host names. */
  readonly resolveHosts?: boolean;
  /** The lookup resolveHosts uses. Default: the system's (dns.lookup). */
  readonly lookup?: HostLookup;
}

type SessionEnd =
  | { readonly kind: 'exit'; readonly exit: FfmpegExit; readonly frames: number; readonly summary: string; readonly partial: number }
  | { readonly kind: 'stalled'; readonly frames: number; readonly summary: string }
  | { readonly kind: 'unresolved'; readonly frames: 0; readonly error: GroundstreamError }
  | { readonly kind: 'stopped' };

interface Geometry {
  readonly width: number;
  readonly height: number;
  readonly sourceWidth?: number;
  readonly sourceHeight?: number;
}

export class FfmpegSource extends FrameSourceBase {
  private readonly args: DecodeArgs;
  private readonly stallMs: number;
  private readonly ffmpegPath: string;
  private readonly resolveHosts: boolean;
  private seq = 0;
  /** Frame rate used for pts (files); undefined: pts from the clock. */
  private fps: number | undefined;
  /** performance.now() of seq 0, for clock pts and native pacing. */
  private origin: number | undefined;
  private started = false;
  private stopping = false;
  private done: Promise<void> = Promise.resolve();
  private current: { kill(): Promise<unknown>; poke(): void } | undefined;
  private wake: (() => void) | undefined;
  /** False while nobody watches an on-demand stream (setActive): no ffmpeg runs then. */
  private active = true;
  /** The current session (or lookup, or wait) was ended by setActive(false), not by trouble or
   * stop(): even if setActive(true) came meanwhile, the loop goes round, not out. */
  private closedForIdle = false;

  constructor(private readonly options: FfmpegSourceOptions) {
    super(options.streamId, options.policy);
    this.stallMs = options.stallTimeoutMs ?? 10_000;
    if (!(this.stallMs > 0)) throw new GroundstreamError('INGEST_SOURCE_INVALID', `stall timeout ${this.stallMs} ms`);
    // Resolved here so that a missing ffmpeg is refused when the source is built, not later.
    this.ffmpegPath = options.ffmpegPath ?? defaultFfmpegPath();
    this.args = buildDecodeArgs(options.input, this.decodeOptions());
    // (the crash is glibc's, so Linux only: the package's macOS and Windows builds look names up)
    this.resolveHosts = options.input.kind === 'url' && (options.resolveHosts ?? (process.platform === 'linux' && this.ffmpegPath === bundledFfmpeg()));
  }

  /** ffmpeg's words with a file named as it was given: ffmpeg names the real path it was handed,
   * which a client reading the stream's status has no business learning. */
  private shown(text: string): string {
    const input = this.options.input;
    if (input.kind !== 'file' || !text) return text;
    return text.split(input.target).join(input.display).split(input.target.slice('file:'.length)).join(input.display);
  }

  private decodeOptions(hostHeader?: string): DecodeOptions {
    const { size, loop, scaler } = this.options;
    return { size, loop, scaler, ...(hostHeader !== undefined && { hostHeader }) };
  }

  /** This session's command line. A URL's host is looked up now where its addresses are checked
   * against denied networks (every address, on every (re)connect: a name may change what it points
   * to), or where ffmpeg cannot look it up itself (then it is given the `attempt`-th address, so
   * that retries go round them all). Null when stop() came meanwhile: stop() does not wait for the
   * lookup. INGEST_DESTINATION_REFUSED, INGEST_OPEN_FAILED. */
  private async sessionArgs(attempt: number): Promise<DecodeArgs | null> {
    const { target, denied } = this.options.input;
    if (!this.resolveHosts && !denied) return this.args;
    if (this.stopping) return null;
    const stopped = new Promise<null>((resolve) => (this.wake = () => resolve(null)));
    try {
      const addresses = await Promise.race([hostAddresses(target, this.options.lookup, Math.min(this.stallMs, 10_000)), stopped]);
      if (addresses === null) return null;
      if (!addresses) return this.args;
      if (denied) checkDestination(urlHost(target)!, addresses, denied);
      if (!this.resolveHosts) return this.args;
      const pinned = pinTo(target, addresses, attempt);
      if (!pinned.hostHeader) return this.args;
      return buildDecodeArgs({ ...this.options.input, target: pinned.url }, this.decodeOptions(pinned.hostHeader));
    } finally {
      this.wake = undefined;
    }
  }

  /** The ffmpeg command line (for logs and tests). */
  get commandLine(): DecodeArgs {
    return this.args;
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    // Nothing in run() should throw; if it does, it is this source's failure, not the process's.
    this.done = this.run().catch((e: unknown) => {
      const error = new GroundstreamError('INGEST_DECODE_FAILED', e instanceof Error ? e.message : String(e), { cause: e });
      this.end('failed', { error, detail: error.message });
    });
  }

  protected demandChanged(): void {
    this.current?.poke();
  }

  /**
   * On demand: `false` closes the input (ffmpeg is stopped, the camera's connection with it) and
   * the source waits as `idle`; `true` opens it again (`connecting`, then `live`); seq and pts go
   * on counting. (A file starts again from its beginning, so that its seq no longer names its
   * frames: the server offers this for live sources only.)
   */
  setActive(active: boolean): void {
    if (this.active === active) return;
    this.active = active;
    if (active) return this.wake?.(); // out of idle
    this.closedForIdle = true;
    if (this.current) void this.current.kill();
    else this.wake?.(); // a lookup or a wait before reconnecting: go idle now
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.current?.kill();
    await this.done;
    this.end('ended', { detail: 'stopped' });
  }

  private get paced(): boolean {
    return !this.options.input.live && (this.options.pacing ?? 'native') === 'native';
  }

  private async run(): Promise<void> {
    const { live } = this.options.input;
    const backoff = { ...BACKOFF_DEFAULTS, ...this.options.backoff };
    let attempt = 0;
    for (;;) {
      if (!this.active) {
        // (a camera that failed while watched says so while idle too: the operator sees it is broken)
        const last = this.status.error;
        const before = last ? `; when last open: ${last.code}: ${last.message}` : '';
        this.tracker.set('idle', { detail: `nobody is watching: opens again when a client subscribes${before}` });
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        if (this.stopping) return;
        attempt = 0;
        this.tracker.set('connecting');
      }
      this.closedForIdle = false; // (a close for idling counts for the session about to start only)
      const end = await this.sessionArgs(attempt).then(
        // stop() may have come during the lookup: then nothing is started.
        (args) => (args === null || this.stopping ? { kind: 'stopped' as const } : this.session(args)),
        (e: unknown): SessionEnd => {
          if (!(e instanceof GroundstreamError)) throw e;
          return { kind: 'unresolved', frames: 0, error: e };
        },
      );
      if (this.stopping) return;
      // closed for want of watchers (setActive), not for trouble: idle, or open again at once
      if (!this.active || this.closedForIdle) continue;
      if (end.kind === 'stopped') return;
      // a host that points into a denied network is refused for good, not retried
      if (end.kind === 'unresolved' && end.error.code === 'INGEST_DESTINATION_REFUSED') return this.end('failed', { error: end.error, detail: end.error.message });
      if (end.frames > 0) attempt = 0;
      const { error, detail } = explain(end, this.stallMs, this.resolveHosts);
      if (!live) return this.end(error ? 'failed' : 'ended', { ...(error && { error }), detail });
      attempt += 1;
      if (attempt > backoff.maxAttempts) return this.end('failed', { attempt, ...(error && { error }), detail });
      const retryInMs = backoffDelay(attempt, backoff, this.options.random);
      this.tracker.set('reconnecting', { attempt, retryInMs, ...(error && { error }), detail });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryInMs);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      this.wake = undefined;
      if (this.stopping) return;
    }
  }

  /** One ffmpeg process, from spawn to exit (or stall, or stop). */
  private async session(args: DecodeArgs): Promise<SessionEnd> {
    const live = this.options.input.live;
    const log = new FfmpegLog(undefined, (line) => this.shown(line));
    let geometry: Geometry | undefined;
    let frames = 0;
    let blocked = false;
    let stalled = false;
    let lastProgress = performance.now();
    const pump = new FramePump({
      canTake: () => this.demand.ready,
      dueAt: () => (this.paced && this.fps && this.origin !== undefined ? this.origin + (this.seq / this.fps) * 1000 : undefined),
      deliver: (data) => {
        frames += 1;
        lastProgress = performance.now();
        this.emit(data, geometry!);
      },
      blocked: (b) => {
        blocked = b;
        lastProgress = performance.now();
      },
    });
    const run: FfmpegRun = runFfmpeg(args, {
      ffmpegPath: this.ffmpegPath,
      stdout: pump.sink,
      onStderr: (line) => {
        if (!log.push(line) || !log.output) return;
        geometry = this.learn(log);
        pump.setFrameBytes(geometry.width * geometry.height * 3);
      },
    });
    const kill = async () => {
      pump.dispose();
      await run.kill();
    };
    this.current = { kill, poke: () => pump.poke() };
    const watchdog = setInterval(
      () => {
        if (blocked || performance.now() - lastProgress < this.stallMs || this.status.state === 'stalled') return;
        const error = new GroundstreamError('INGEST_STALLED', `${this.stallMs} ms`);
        this.tracker.set('stalled', { error, detail: log.summary() || undefined });
        // A live input is restarted; a file may just be slow to read, so it keeps its process.
        if (live) {
          stalled = true;
          void kill();
        }
      },
      Math.max(50, Math.min(1000, this.stallMs / 4)),
    );
    try {
      const exit = await run.exited;
      // Without a process, or without a header, no frame can come: do not wait for the pipe.
      if (!exit.spawned || !pump.sized) pump.dispose();
      // ffmpeg may exit with frames still in the pipe: they are released first (`wait` included).
      const partial = await pump.ended;
      if (this.stopping || (exit.killed && !stalled)) return { kind: 'stopped' };
      if (stalled) return { kind: 'stalled', frames, summary: log.summary() };
      return { kind: 'exit', exit, frames, summary: log.summary(), partial };
    } finally {
      clearInterval(watchdog);
      this.current = undefined;
    }
  }

  /** Reads sizes and rate from ffmpeg's header. */
  private learn(log: FfmpegLog): Geometry {
    const out = log.output!;
    const fps = out.fps ?? log.input?.fps;
    if (!this.options.input.live && this.seq === 0) this.fps = fps;
    const geometry: Geometry = {
      width: out.width,
      height: out.height,
      ...(log.input && { sourceWidth: log.input.width, sourceHeight: log.input.height }),
    };
    this.tracker.learn({ ...geometry, ...(fps && { fps }) });
    return geometry;
  }

  private emit(data: Uint8Array, g: Geometry): void {
    const now = performance.now();
    const seq = this.seq++;
    // Files: the clip's own timeline (ffmpeg made it constant-rate). Live: the clock.
    const pts = this.fps ? seq / this.fps : this.origin === undefined ? 0 : Math.round(now - this.origin) / 1000;
    this.origin ??= now - pts * 1000;
    // A paced file that fell behind its clock (ffmpeg held up: a stopped process, a slow disk)
    // goes on at its rate from here, instead of racing through the frames it is late for.
    if (this.paced && this.fps && now - (this.origin + pts * 1000) > REANCHOR_MS) this.origin = now - pts * 1000;
    this.publish({ streamId: this.streamId, seq, pts, capturedAt: Date.now(), ...g, data });
  }
}

/** Turns how a session ended into a status error and detail. */
function explain(end: Exclude<SessionEnd, { kind: 'stopped' }>, stallMs: number, staticBuild: boolean): { error?: GroundstreamError; detail: string } {
  if (end.kind === 'unresolved') return { error: end.error, detail: end.error.detail };
  if (end.kind === 'stalled') {
    return { error: new GroundstreamError('INGEST_STALLED', `${stallMs} ms`), detail: end.summary || `no frame for ${stallMs} ms` };
  }
  const { exit, frames, summary, partial } = end;
  const truncated = partial > 0 ? ` (last frame truncated: ${partial} bytes)` : '';
  if (exit.code === 0 && !exit.error) return { detail: (summary ? `end of stream; ${summary}` : 'end of stream') + truncated };
  let why = summary || exit.error || 'ffmpeg failed';
  // The bundled build crashes when it looks up a host name itself (host-pin.ts): say so.
  if (staticBuild && /SIGSEGV/.test(exit.error ?? '')) {
    why += ` (the bundled ffmpeg crashes when it must look up a host name itself, as for a redirect or playlist to another host: install ffmpeg, or name it with ${FFMPEG_ENV})`;
  }
  const code = frames === 0 ? 'INGEST_OPEN_FAILED' : 'INGEST_DECODE_FAILED';
  return { error: new GroundstreamError(code, why), detail: why + truncated };
}
