/**
 * What every frame source shares on its output side: the frames subject, the status tracker, the
 * consumer's demand and the newest frame. A subclass decides what to emit and when; the base
 * publishes each frame in one order (demand, `latest`, status `live`, `frames$`) and ends both
 * streams together, so that `frames$` completes exactly when the status becomes final.
 */
import { Subject, type Observable } from 'rxjs';
import type { Frame } from '../domain/types.js';
import { Demand, type BackpressurePolicy, type FrameSource } from './frame-source.js';
import { StatusTracker, type SourceStatus, type StatusChange } from './status.js';

export abstract class FrameSourceBase implements FrameSource {
  readonly streamId: string;
  readonly policy: BackpressurePolicy;
  readonly frames$: Observable<Frame>;
  readonly status$: Observable<SourceStatus>;
  protected readonly tracker: StatusTracker;
  protected readonly demand: Demand;
  private readonly framesSubject = new Subject<Frame>();
  private latestFrame: Frame | undefined;

  /** @param policy default 'latest'. */
  constructor(streamId: string, policy: BackpressurePolicy = 'latest') {
    this.streamId = streamId;
    this.policy = policy;
    this.demand = new Demand(policy);
    this.tracker = new StatusTracker(streamId);
    this.status$ = this.tracker.status$;
    this.frames$ = this.framesSubject.asObservable();
  }

  get status(): SourceStatus {
    return this.tracker.current;
  }

  get latest(): Frame | undefined {
    return this.latestFrame;
  }

  abstract start(): void;
  abstract stop(): Promise<void>;

  request(n = 1): void {
    this.demand.add(n);
    this.demandChanged();
  }

  /** Called after `request()` added credits: release what was held back for the consumer. */
  protected abstract demandChanged(): void;

  /** Emits `frame` (the caller checked `demand.ready`); the first frame after any other state is
   * `live`, with the failed-attempt count back at 0. */
  protected publish(frame: Frame): void {
    this.demand.use();
    this.latestFrame = frame;
    if (this.tracker.current.state !== 'live') this.tracker.set('live', { attempt: 0 });
    this.framesSubject.next(frame);
  }

  /** Moves to a final state and completes `frames$` (a no-op for the status once final). */
  protected end(state: 'ended' | 'failed', change: StatusChange = {}): void {
    this.tracker.set(state, change);
    this.framesSubject.complete();
  }
}
