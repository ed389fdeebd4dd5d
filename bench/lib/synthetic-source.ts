/**
 * A FrameSource for benchmarks: emits pre-decoded frames of a fixture at a set rate, with no
 * decoding cost, so that the server's own costs can be measured at a precise load. Frames are due
 * on a fixed timeline (frame n at start + n / fps) and stamped with their due time, so a late
 * event loop shows up as latency instead of being hidden. The rate can change while it runs.
 */
import { Subject, type Observable } from 'rxjs';
import type { Frame } from '../../src/domain/types.js';
import { StatusTracker, type FrameSource, type SourceStatus } from '../../src/ingest/index.js';
import { clock } from './clock.js';
import type { DecodedClip } from './fixtures.js';

export class SyntheticSource implements FrameSource {
  readonly policy = 'latest' as const;
  private readonly subject = new Subject<Frame>();
  readonly frames$: Observable<Frame> = this.subject.asObservable();
  private readonly tracker: StatusTracker;
  readonly status$: Observable<SourceStatus>;
  private latestFrame: Frame | undefined;
  private timer: NodeJS.Timeout | undefined;
  private fps: number;
  /** Timeline origin (clock ms) and frames emitted since it. */
  private origin = 0;
  private due = 0;
  private running = false;
  /** Frames emitted since start. */
  emitted = 0;
  private seq = 0;

  constructor(
    readonly streamId: string,
    private readonly clip: DecodedClip,
    fps: number,
  ) {
    if (!(fps > 0)) throw new RangeError(`fps ${fps}`);
    this.fps = fps;
    this.tracker = new StatusTracker(streamId);
    this.tracker.learn({ width: clip.width, height: clip.height, sourceWidth: clip.sourceWidth, sourceHeight: clip.sourceHeight, fps });
    this.status$ = this.tracker.status$;
  }

  get status(): SourceStatus {
    return this.tracker.current;
  }

  get latest(): Frame | undefined {
    return this.latestFrame;
  }

  get rate(): number {
    return this.fps;
  }

  /** Changes the rate from now on (the timeline restarts at the current time). */
  setRate(fps: number): void {
    if (!(fps > 0)) throw new RangeError(`fps ${fps}`);
    this.fps = fps;
    this.origin = clock();
    this.due = 0;
  }

  start(): void {
    if (this.running || this.tracker.isFinal) return;
    this.running = true;
    this.origin = clock();
    this.due = 0;
    this.tracker.set('live');
    this.tick();
  }

  request(): void {}

  /** Emits nothing until `resume()` (e.g. while the model is timed alone). */
  pause(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  resume(): void {
    if (this.running || this.tracker.isFinal) return;
    this.running = true;
    this.origin = clock();
    this.due = 0;
    this.tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.tracker.set('ended', { detail: 'stopped' });
    this.subject.complete();
  }

  private tick = (): void => {
    if (!this.running) return;
    const now = clock();
    // Every frame due by now goes out, stamped with its due time (at most a second's worth after
    // a long stall, which would otherwise arrive as a burst).
    const behind = Math.floor(((now - this.origin) * this.fps) / 1000) - this.due + 1;
    if (behind > this.fps) {
      this.due += behind - Math.ceil(this.fps);
    }
    while (this.origin + (this.due * 1000) / this.fps <= now) {
      this.emit(this.origin + (this.due * 1000) / this.fps);
      this.due++;
    }
    const next = this.origin + (this.due * 1000) / this.fps;
    this.timer = setTimeout(this.tick, Math.max(0, next - clock()));
  };

  private emit(capturedAt: number): void {
    const seq = this.seq++;
    const c = this.clip;
    const frame: Frame = {
      streamId: this.streamId,
      seq,
      pts: seq / this.fps,
      capturedAt,
      width: c.width,
      height: c.height,
      sourceWidth: c.sourceWidth,
      sourceHeight: c.sourceHeight,
      data: c.frames[seq % c.frames.length]!,
    };
    this.emitted++;
    this.latestFrame = frame;
    this.subject.next(frame);
  }
}
