/**
 * Source status: one state machine vocabulary for every frame source, reported as events so that
 * a source that fails never stops the pipeline (the failure is a status, not an exception).
 */
import { ReplaySubject, type Observable } from 'rxjs';
import type { ErrorCode, GroundstreamError } from '../errors.js';

/**
 * - `connecting`: opening the source, no frame yet.
 * - `live`: frames are flowing.
 * - `stalled`: no frame for `stallTimeoutMs` although the consumer was ready for one.
 * - `reconnecting`: a live source dropped or stalled; waiting `retryInMs` before the next try.
 * - `ended`: final; a file reached its end, or `stop()` was called.
 * - `failed`: final; the source cannot be read (`error` says why).
 * - `idle`: an on-demand source closed while nobody watches; it opens again (`connecting`) when a
 *   client subscribes.
 */
export type SourceState = 'connecting' | 'live' | 'stalled' | 'reconnecting' | 'ended' | 'failed' | 'idle';

/** States after which a source emits nothing more. */
export const FINAL_STATES: ReadonlySet<SourceState> = new Set(['ended', 'failed']);

export interface SourceStatus {
  readonly streamId: string;
  readonly state: SourceState;
  /** When this state was entered, ms since the epoch. */
  readonly since: number;
  /** Failed tries since the last frame; 0 on the first connection. */
  readonly attempt: number;
  /** `reconnecting` only: ms until the next try. */
  readonly retryInMs?: number;
  /** Size of the source in pixels, once known. */
  readonly sourceWidth?: number;
  readonly sourceHeight?: number;
  /** Size frames are emitted at (the working size), once known. */
  readonly width?: number;
  readonly height?: number;
  /** Frame rate of the source in frames a second, when it declares one. */
  readonly fps?: number;
  /** Why the source is `failed`, `stalled` or `reconnecting`, with a stable code. */
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  /** Human-readable summary, e.g. ffmpeg's last error lines. Secrets in URLs are redacted. */
  readonly detail?: string;
}

/** What may change along with a state. Fields left out are cleared, except the sizes and fps. */
export interface StatusChange {
  readonly attempt?: number;
  readonly retryInMs?: number;
  readonly error?: GroundstreamError;
  readonly detail?: string;
}

/** Sizes and rate learnt from the source; they persist across state changes. */
export interface StreamGeometry {
  readonly sourceWidth?: number;
  readonly sourceHeight?: number;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
}

/**
 * Holds a source's current status and publishes each change. `status$` replays the current
 * status to every new subscriber, even after the final one (then completes).
 */
export class StatusTracker {
  private readonly subject = new ReplaySubject<SourceStatus>(1);
  private geometry: StreamGeometry = {};
  private currentStatus: SourceStatus;
  readonly status$: Observable<SourceStatus> = this.subject.asObservable();

  constructor(
    readonly streamId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.currentStatus = { streamId, state: 'connecting', since: now(), attempt: 0 };
    this.subject.next(this.currentStatus);
  }

  get current(): SourceStatus {
    return this.currentStatus;
  }

  get isFinal(): boolean {
    return FINAL_STATES.has(this.currentStatus.state);
  }

  /** Records sizes/fps. They show up in the next status published; while live, a new size is
   * published at once (pushed images may change size from one to the next). */
  learn(geometry: StreamGeometry): void {
    this.geometry = { ...this.geometry, ...geometry };
    const cur = this.currentStatus;
    if (cur.state !== 'live') return; // (called for every pushed frame: the common case is cheap)
    const g = this.geometry;
    if (g.width === cur.width && g.height === cur.height && g.sourceWidth === cur.sourceWidth && g.sourceHeight === cur.sourceHeight) return;
    const next: SourceStatus = { ...cur, ...g };
    this.currentStatus = next;
    this.subject.next(next);
  }

  /** Moves to `state` (no-op once final). Publishes unless nothing visible changed. */
  set(state: SourceState, change: StatusChange = {}): void {
    if (this.isFinal) return;
    const prev = this.currentStatus;
    const next: SourceStatus = {
      streamId: this.streamId,
      state,
      since: prev.state === state ? prev.since : this.now(),
      attempt: change.attempt ?? prev.attempt,
      ...this.geometry,
      ...(change.retryInMs !== undefined && { retryInMs: change.retryInMs }),
      ...(change.error && { error: { code: change.error.code, message: change.error.message } }),
      ...(change.detail !== undefined && { detail: change.detail }),
    };
    if (sameStatus(prev, next)) return;
    this.currentStatus = next;
    this.subject.next(next);
    if (this.isFinal) this.subject.complete();
  }
}

function sameStatus(a: SourceStatus, b: SourceStatus): boolean {
  return (
    a.state === b.state &&
    a.attempt === b.attempt &&
    a.retryInMs === b.retryInMs &&
    a.error?.code === b.error?.code &&
    a.detail === b.detail &&
    a.width === b.width &&
    a.height === b.height &&
    a.sourceWidth === b.sourceWidth &&
    a.sourceHeight === b.sourceHeight
  );
}
