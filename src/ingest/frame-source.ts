/**
 * The one interface every frame source implements (ffmpeg decoding, pushed images), and the
 * options they share. Consumers see frames as a hot Observable and the source's health as status
 * events; a source never queues decoded frames without bound (see BackpressurePolicy).
 */
import type { Observable } from 'rxjs';
import type { Frame } from '../domain/types.js';
import { GroundstreamError } from '../errors.js';
import type { SourceStatus } from './status.js';

/**
 * What a source does when the consumer is slower than the frames:
 * - `latest` (default): never wait for the consumer. Each frame is emitted as soon as it is
 *   decoded and the source keeps only the newest one (`latest`); a slow consumer drops frames
 *   (the pipeline's latest-frame operator). Right for live sources: latency stays bounded.
 * - `wait`: emit a frame only when the consumer asked for it with `request(n)`; meanwhile the
 *   source stops reading (ffmpeg blocks on its pipe), so no frame is skipped. For evaluation.
 */
export type BackpressurePolicy = 'latest' | 'wait';

/** How fast a file (or a non-live URL) is read. Live sources always run at their own rate.
 * - `native` (default): at the clip's frame rate, as if live (replaying fixtures as a stream).
 * - `fast`: as fast as ffmpeg decodes (evaluation, benchmarks). */
export type Pacing = 'native' | 'fast';

/** The size frames are emitted at; the source scales (ffmpeg or sharp), never the consumer. */
export interface WorkingSize {
  /** Pixels. With only one of width/height given, the other keeps the source's aspect ratio. */
  readonly width?: number;
  readonly height?: number;
  /** `stretch` (default): exactly width x height. `inside`: the largest size that fits in
   * width x height with the source's aspect ratio (the model pads it). */
  readonly fit?: 'stretch' | 'inside';
  /** Resampling filter where the JS side resizes (pushed images; ffmpeg has its own scaler).
   * Default linear. */
  readonly kernel?: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
}

/** Largest side a working size may have, px. */
export const MAX_WORKING_SIDE = 16_384;

/** Checks a working size once, when a source is built; INGEST_SOURCE_INVALID if it makes no sense. */
export function validateWorkingSize(size: WorkingSize | undefined): void {
  if (!size) return;
  for (const v of [size.width, size.height]) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0 && v <= MAX_WORKING_SIDE)) {
      throw new GroundstreamError('INGEST_SOURCE_INVALID', `working size ${size.width ?? '?'}x${size.height ?? '?'}`);
    }
  }
  if (size.fit !== undefined && size.fit !== 'stretch' && size.fit !== 'inside') {
    throw new GroundstreamError('INGEST_SOURCE_INVALID', `working size fit ${String(size.fit)}`);
  }
}

export interface FrameSource {
  readonly streamId: string;
  readonly policy: BackpressurePolicy;
  /** Hot: subscribe before `start()` to see every frame. Completes when the source reaches a
   * final state (`ended` or `failed`); never errors: failures are status events. */
  readonly frames$: Observable<Frame>;
  /** Replays the current status to each subscriber; completes after the final one. */
  readonly status$: Observable<SourceStatus>;
  /** The current status. */
  readonly status: SourceStatus;
  /** The newest frame emitted so far (one frame is kept, whatever the policy). */
  readonly latest: Frame | undefined;
  /** Starts reading. Calling it again does nothing. */
  start(): void;
  /** `wait` policy: allow `n` (default 1) more frames to be emitted. Ignored under `latest`. */
  request(n?: number): void;
  /** Stops reading, ends the source (`ended`), and resolves once every child process is gone. */
  stop(): Promise<void>;
  /** On demand: close the input while nobody watches (`idle`), open it again when someone does.
   * Absent where a source has nothing to close (pushed frames). */
  setActive?(active: boolean): void;
  /** Frames the source received and replaced by a newer one before emitting them (pushed images
   * that waited while the decoder was busy); absent where a source drops none. */
  readonly framesSuperseded?: number;
}

/** Counts the frames a `wait` consumer has asked for but not yet received. */
export class Demand {
  private credits = 0;
  constructor(readonly policy: BackpressurePolicy) {}

  /** Whether a frame may be emitted now. */
  get ready(): boolean {
    return this.policy === 'latest' || this.credits > 0;
  }

  /** Adds `n` credits; Infinity lifts the limit, anything below 1 or not a number is ignored. */
  add(n = 1): void {
    if (n === Infinity) this.credits = Infinity;
    else if (Number.isFinite(n) && n >= 1) this.credits += Math.floor(n);
  }

  /** Records one emitted frame. */
  use(): void {
    if (this.policy === 'wait' && this.credits > 0) this.credits -= 1;
  }
}
