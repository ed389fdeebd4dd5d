/**
 * Frames pushed by a client as encoded images (JPEG, PNG, WebP), e.g. the binary WebSocket
 * messages the protocol module unpacks. Each image is decoded with sharp at the working size and
 * stamped; a bad image is an error result for that push only, never the end of the source.
 */
import type { Frame } from '../domain/types.js';
import { GroundstreamError, isGroundstreamError } from '../errors.js';
import { validateWorkingSize, type BackpressurePolicy, type WorkingSize } from './frame-source.js';
import { FrameSourceBase } from './frame-source-base.js';
import { decodeImage, type DecodedImage } from './image-decode.js';

export interface PushedSourceOptions {
  readonly streamId: string;
  /** Size frames are emitted at. Default: the images' own size. */
  readonly size?: WorkingSize;
  /** `latest` (default): one image decodes at a time and only the newest one waits; older
   * waiting ones resolve as `dropped`. `wait`: every image is kept, in order, until `request()`,
   * up to `maxPending`. */
  readonly policy?: BackpressurePolicy;
  /** Largest image accepted, in pixels, checked before decoding. Default 8_294_400 (3840x2160). */
  readonly maxPixels?: number;
  /** `wait` only: images received and not yet emitted; more are refused (INGEST_QUEUE_FULL).
   * Default 4. */
  readonly maxPending?: number;
  /** ms without a pushed image before the source reports `stalled` (once one has come: until
   * then it is `connecting`, waiting for its pusher). Default 10_000. */
  readonly stallTimeoutMs?: number;
  /** ms without a push after which another client may push to the stream (see PushMeta.pusher):
   * a pusher that sends a frame every few seconds (a snapshot camera) keeps it. Default: the stall
   * timeout. Its connection closing releases it at once. */
  readonly pusherHoldMs?: number;
}

/** What the client said about the image; everything is optional. */
export interface PushMeta {
  /** Frame number; default: one more than the previous push (from 0). */
  readonly seq?: number;
  /** Capture time, ms since the epoch; default: when `push` was called. */
  readonly capturedAt?: number;
  /** Seconds; default: from the capture times (see `push`). */
  readonly pts?: number;
  /** Who pushes (a connection's id): while one pusher is at it, another is refused
   * (INGEST_PUSH_STREAM_TAKEN), since two of them would mix their frames, frame numbers and
   * clocks in one stream. It may take over once the first is released (release(), when its
   * connection closes) or has pushed nothing for pusherHoldMs (the stall timeout, 10 s). */
  readonly pusher?: string;
}

export type PushResult =
  | { readonly status: 'emitted'; readonly frame: Frame }
  | { readonly status: 'dropped'; readonly reason: 'superseded' | 'stopped' }
  | { readonly status: 'error'; readonly error: GroundstreamError };

interface Job {
  readonly bytes: Uint8Array;
  readonly seq: number;
  readonly capturedAt: number;
  readonly pts: number;
  readonly resolve: (result: PushResult) => void;
  state: 'waiting' | 'decoding' | 'done';
  decoded?: DecodedImage;
  decodeMs?: number;
  error?: GroundstreamError;
}

/** Default largest pushed image, in pixels: 3840 x 2160. */
export const DEFAULT_MAX_PUSH_PIXELS = 3840 * 2160;

/** Largest step between two pushes' capture times taken as it is (s): see nextPts. */
const MAX_CAPTURE_STEP_S = 10;

export class PushedFrameSource extends FrameSourceBase {
  private readonly maxPixels: number;
  private readonly maxPending: number;
  private readonly stallMs: number;
  /** Jobs in arrival order. `latest`: at most one decoding and one waiting. */
  private readonly jobs: Job[] = [];
  private nextSeq = 0;
  /** The previous push's capture time, pts and arrival (performance.now()), for the next pts. */
  private prev: { capturedAt: number; pts: number; at: number } | undefined;
  /** Images replaced by a newer one before they were decoded (`latest`: the decoder was busy). */
  private superseded = 0;
  /** The client pushing now (PushMeta.pusher), and when it last pushed. */
  private pusher: { id: string; at: number } | undefined;
  private readonly pusherHoldMs: number;
  private lastPushAt = performance.now();
  private watchdog: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly options: PushedSourceOptions) {
    super(options.streamId, options.policy);
    validateWorkingSize(options.size);
    this.maxPixels = options.maxPixels ?? DEFAULT_MAX_PUSH_PIXELS;
    this.maxPending = Math.max(1, options.maxPending ?? 4);
    this.stallMs = options.stallTimeoutMs ?? 10_000;
    this.pusherHoldMs = options.pusherHoldMs ?? this.stallMs;
  }

  /** Images received and replaced by a newer one before they were decoded (the decoder was busy):
   * frames dropped before the pipeline saw them (streams.ts counts them with its drops). */
  get framesSuperseded(): number {
    return this.superseded;
  }

  /** `pusher`'s connection closed: another client may push at once. */
  release(pusher: string): void {
    if (this.pusher?.id === pusher) this.pusher = undefined;
  }

  /** Starts the stall clock; the first `push` starts the source too. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.lastPushAt = performance.now();
    this.watchdog = setInterval(() => this.checkStall(), Math.max(50, Math.min(1000, this.stallMs / 4)));
    this.watchdog.unref();
  }

  protected demandChanged(): void {
    this.flush();
  }

  /** Decodes and emits one image. Resolves once it is emitted, dropped, or refused; never rejects. */
  push(encoded: Uint8Array, meta: PushMeta = {}): Promise<PushResult> {
    if (this.closed) {
      return Promise.resolve({ status: 'error', error: new GroundstreamError('INGEST_SOURCE_CLOSED', this.streamId) });
    }
    this.start();
    const now = performance.now();
    if (meta.pusher !== undefined) {
      const p = this.pusher;
      if (p && p.id !== meta.pusher && now - p.at < this.pusherHoldMs) {
        const error = new GroundstreamError('INGEST_PUSH_STREAM_TAKEN', `${JSON.stringify(this.streamId)} has a pusher already (another connection pushed to it ${Math.round(now - p.at)} ms ago)`);
        return Promise.resolve({ status: 'error', error });
      }
      this.pusher = { id: meta.pusher, at: now };
    }
    this.lastPushAt = now;
    if (this.policy === 'wait' && this.jobs.length >= this.maxPending) {
      const error = new GroundstreamError('INGEST_QUEUE_FULL', `${this.maxPending} frames pending on ${this.streamId}`);
      return Promise.resolve({ status: 'error', error });
    }
    const seq = meta.seq ?? this.nextSeq;
    this.nextSeq = seq + 1;
    const capturedAt = meta.capturedAt ?? Date.now();
    const pts = meta.pts ?? this.nextPts(capturedAt, now);
    this.prev = { capturedAt, pts, at: now };
    return new Promise((resolve) => {
      if (this.policy === 'latest') {
        // Only the newest image waits: a client faster than the decoder loses the older ones.
        const waiting = this.jobs.findIndex((j) => j.state === 'waiting');
        if (waiting >= 0) {
          this.superseded++;
          this.jobs.splice(waiting, 1)[0]!.resolve({ status: 'dropped', reason: 'superseded' });
        }
      }
      this.jobs.push({ bytes: encoded, seq, capturedAt, pts, resolve, state: 'waiting' });
      this.decodeNext();
    });
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    for (const job of this.jobs.splice(0)) job.resolve({ status: 'dropped', reason: 'stopped' });
    this.end('ended', { detail: 'stopped' });
  }

  /** One decode at a time, in arrival order; sharp runs it off the main thread. */
  private decodeNext(): void {
    if (this.closed || this.jobs.some((j) => j.state === 'decoding')) return;
    const job = this.jobs.find((j) => j.state === 'waiting');
    if (!job) return;
    job.state = 'decoding';
    const t0 = performance.now();
    decodeImage(job.bytes, { maxPixels: this.maxPixels, ...(this.options.size && { size: this.options.size }) })
      .then((decoded) => {
        job.decoded = decoded;
        job.decodeMs = performance.now() - t0;
      })
      .catch((e: unknown) => {
        job.error = isGroundstreamError(e) ? e : new GroundstreamError('IMAGE_DECODE_FAILED', String(e), { cause: e });
      })
      .finally(() => {
        job.state = 'done';
        this.flush();
        this.decodeNext();
      });
  }

  /** Emits finished jobs from the head of the queue, in order, as far as demand allows. */
  private flush(): void {
    while (!this.closed && this.jobs[0]?.state === 'done') {
      const job = this.jobs[0];
      if (job.error) {
        this.jobs.shift();
        job.resolve({ status: 'error', error: job.error });
        continue;
      }
      if (!this.demand.ready) return;
      this.jobs.shift();
      const d = job.decoded!;
      const frame: Frame = {
        streamId: this.streamId,
        seq: job.seq,
        pts: job.pts,
        capturedAt: job.capturedAt,
        width: d.width,
        height: d.height,
        sourceWidth: d.sourceWidth,
        sourceHeight: d.sourceHeight,
        data: d.data,
        ...(job.decodeMs !== undefined ? { decodeMs: job.decodeMs } : {}),
      };
      this.tracker.learn({ width: d.width, height: d.height, sourceWidth: d.sourceWidth, sourceHeight: d.sourceHeight });
      this.publish(frame);
      job.resolve({ status: 'emitted', frame });
    }
  }

  /**
   * A pushed frame's pts (seconds from the stream's first push), which the tracker reads motion
   * by: it moves on by the capture times' difference, as the pusher's clock saw it, while that is
   * between 0 and MAX_CAPTURE_STEP_S; otherwise (a clock set back or forward, two clocks) by the
   * time between the two pushes' arrivals here. Taken from capture times alone, one frame
   * stamped an hour ahead (a phone before its clock synced) held every later pts at 0.
   */
  private nextPts(capturedAt: number, now: number): number {
    const p = this.prev;
    if (!p) return 0;
    const step = (capturedAt - p.capturedAt) / 1000;
    return p.pts + (step >= 0 && step <= MAX_CAPTURE_STEP_S ? step : Math.max(0, (now - p.at) / 1000));
  }

  private checkStall(): void {
    // (before the first push the stream waits for its pusher, `connecting`: no fault yet)
    if (this.closed || !this.prev || this.status.state === 'stalled') return;
    if (performance.now() - this.lastPushAt < this.stallMs) return;
    this.tracker.set('stalled', { error: new GroundstreamError('INGEST_STALLED', `no image pushed for ${this.stallMs} ms`) });
  }
}
