/**
 * A FrameSource that plays a recording's frames back on the clock they were received at, so the
 * server path downstream (pipeline, sessions) runs as it did live. Frames carry the recorded
 * `seq`, `pts` and `capturedAt` unchanged and a 1x1 placeholder image whose `sourceWidth` and
 * `sourceHeight` are the recorded frame size (boxes stay in that space); the RecordedModel knows
 * each placeholder's detections.
 */
import { Subject, type Observable } from 'rxjs';
import type { Frame } from '../domain/types.js';
import type { BackpressurePolicy, FrameSource } from '../ingest/frame-source.js';
import { StatusTracker, type SourceStatus } from '../ingest/status.js';
import type { Session } from './read-session.js';

/** One frame to replay: its recorded identity and when it is due, ms after the first one. */
export interface ReplayFrame {
  readonly seq: number;
  readonly pts: number;
  readonly capturedAt: number;
  /** Source size (boxes are in these pixels). */
  readonly width: number;
  readonly height: number;
  /** ms after the first frame, at speed 1. */
  readonly at: number;
}

/** `1`: the recorded timing; `2`: twice as fast; `'max'`: one frame per event-loop turn. */
export type ReplaySpeed = number | 'max';

export interface ReplaySourceOptions {
  readonly streamId: string;
  readonly frames: readonly ReplayFrame[];
  /** Default 1. */
  readonly speed?: ReplaySpeed;
  /** Start again after the last frame (seq, pts and capturedAt repeat). Default false. */
  readonly loop?: boolean;
  /** Playback begins once start() was called and this has settled. Default: at start(). */
  readonly hold?: PromiseLike<unknown>;
  /** Pixels of frame `index` (its position in `frames`). Default: a fresh black RGB pixel. */
  readonly pixels?: (index: number) => Uint8Array;
  /** ms between the last frame and `ended`, so that its result is delivered before the server
   * ends the subscriptions. Default 250. */
  readonly endDelayMs?: number;
}

/**
 * The frames of a recording, due on the recorder's receive clock: a result that reached the
 * recorder 40 ms after the previous one is replayed 40 ms after it (at speed 1), so clients see
 * the timing the recorder saw, inference jitter included.
 */
export function replayFrames(session: Pick<Session, 'results'>): ReplayFrame[] {
  const first = session.results[0]?.receivedAt ?? 0;
  let prev = 0;
  return session.results.map(({ receivedAt, message: { frame } }) => {
    prev = Math.max(prev, receivedAt - first); // never earlier than the previous one
    return { seq: frame.seq, pts: frame.pts, capturedAt: frame.capturedAt, width: frame.width, height: frame.height, at: prev };
  });
}

export class ReplayFrameSource implements FrameSource {
  readonly streamId: string;
  readonly policy: BackpressurePolicy = 'latest';
  private readonly framesSubject = new Subject<Frame>();
  readonly frames$: Observable<Frame> = this.framesSubject.asObservable();
  private readonly tracker: StatusTracker;
  readonly status$: Observable<SourceStatus>;
  private readonly speed: ReplaySpeed;
  /** ms between the last frame of a lap and the first of the next: the recording's median gap. */
  private readonly lapGap: number;
  private latestFrame: Frame | undefined;
  private started = false;
  private closed = false;
  private next = 0;
  /** performance.now() at which the current lap's first frame is due. */
  private lapStart = 0;
  private cancel: (() => void) | undefined;

  constructor(private readonly options: ReplaySourceOptions) {
    const speed = options.speed ?? 1;
    if (speed !== 'max' && !(typeof speed === 'number' && speed > 0 && Number.isFinite(speed))) {
      throw new RangeError(`replay speed must be a positive number or "max", got ${String(speed)}`);
    }
    this.speed = speed;
    this.streamId = options.streamId;
    this.tracker = new StatusTracker(options.streamId);
    this.status$ = this.tracker.status$;
    const gaps = options.frames.slice(1).map((f, i) => f.at - options.frames[i]!.at).sort((a, b) => a - b);
    this.lapGap = gaps.length ? gaps[Math.floor(gaps.length / 2)]! : 0;
    const f = options.frames[0];
    if (f) this.tracker.learn({ width: 1, height: 1, sourceWidth: f.width, sourceHeight: f.height });
  }

  get status(): SourceStatus {
    return this.tracker.current;
  }

  get latest(): Frame | undefined {
    return this.latestFrame;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.tracker.set('connecting', { detail: 'replaying a recording' });
    void Promise.resolve(this.options.hold).then(() => {
      if (this.closed) return;
      this.lapStart = performance.now();
      this.schedule();
    });
  }

  /** Frames are never held back (`latest` policy); nothing to do. */
  request(): void {}

  async stop(): Promise<void> {
    this.finish('stopped');
  }

  private schedule(): void {
    if (this.closed) return;
    const frames = this.options.frames;
    if (this.next >= frames.length) {
      if (!this.options.loop || frames.length === 0) {
        const t = setTimeout(() => this.finish('end of recording'), this.options.endDelayMs ?? 250);
        this.cancel = () => clearTimeout(t);
        return;
      }
      this.lapStart += this.scaled(frames.at(-1)!.at + this.lapGap);
      this.next = 0;
    }
    if (this.speed === 'max') {
      const t = setImmediate(() => this.emit());
      this.cancel = () => clearImmediate(t);
      return;
    }
    const due = this.lapStart + this.scaled(frames[this.next]!.at);
    const t = setTimeout(() => this.emit(), Math.max(0, due - performance.now()));
    this.cancel = () => clearTimeout(t);
  }

  private scaled(ms: number): number {
    return this.speed === 'max' ? 0 : ms / this.speed;
  }

  private emit(): void {
    if (this.closed) return;
    const index = this.next++;
    const f = this.options.frames[index]!;
    const frame: Frame = {
      streamId: this.streamId,
      seq: f.seq,
      pts: f.pts,
      capturedAt: f.capturedAt,
      width: 1,
      height: 1,
      sourceWidth: f.width,
      sourceHeight: f.height,
      data: this.options.pixels?.(index) ?? new Uint8Array(3),
    };
    this.latestFrame = frame;
    this.tracker.learn({ sourceWidth: f.width, sourceHeight: f.height });
    this.tracker.set('live'); // publishes only on a change (first frame, new size)
    this.framesSubject.next(frame);
    this.schedule();
  }

  private finish(detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.cancel?.();
    this.tracker.set('ended', { detail });
    this.framesSubject.complete();
  }
}
