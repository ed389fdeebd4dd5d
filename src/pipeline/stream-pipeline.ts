/**
 * One stream's graph: source frames -> (only while someone watches) newest frame whenever the model
 * is free -> one inference on the union of everyone's queries -> each subscriber's own view.
 *
 * A failed inference becomes an error result for that frame; the stream goes on. Subscribers are
 * fed synchronously from one Subject, so what a subscriber does with its results (the server
 * buffers or conflates per client) never holds up the model or the others.
 *
 * `frames$` is consumed as it comes: give it a source with the 'latest' policy (what the server
 * opens). A 'wait' source emits only on request(), which this graph does not make; evaluation,
 * which must see every frame, drives its source itself (eval/clip-frames.ts).
 */
import { Subject, Subscription, asyncScheduler, defer, filter, from, map, type Observable, type SchedulerLike } from 'rxjs';
import { rateGate } from './max-rate.js';
import type { Detection, Frame } from '../domain/types.js';
import { isGroundstreamError } from '../errors.js';
import type { GroundingModel, QuerySet } from '../model/index.js';
import { StreamTracker, TrackView, type TrackedDetection, type TrackerOptions } from '../track/index.js';
import { latestWhileBusy } from './latest-while-busy.js';
import type { Limiter } from './limiter.js';
import { QueryRegistry } from './query-registry.js';

export interface FrameMeta {
  seq: number;
  pts: number;
  capturedAt: number;
  width: number;
  height: number;
}

/** Milliseconds: preprocessing, inference (+ postprocessing), and capture-to-result. */
export interface Timings {
  decode: number;
  infer: number;
  total: number;
}

/** A frame's pixels as the model saw them: packed RGB at the working size (not the source size). */
export interface FramePixels {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface InferenceResult {
  stream: string;
  frame: FrameMeta;
  /** The frame itself, for viewer images (a reference, not a copy; frames are never reused). */
  pixels?: FramePixels;
  /** Stream query version the inference answered. */
  streamVersion: number;
  timings: Timings;
  /** Union detections, each above the lowest threshold any subscriber set for its query, with
   * `trackId` and the track's smoothed values once tracked. */
  detections: TrackedDetection[];
  /** Track IDs the tracker dropped at this frame (absent when none). */
  lost?: number[];
  error?: { code: string; message: string };
}

/** What one subscriber gets. `frame` and `detections` may be shared with other subscribers of the
 * same view, and are frozen: copy them to change them. */
export interface SubscriberResult {
  subscription: string;
  stream: string;
  frame: Readonly<FrameMeta>;
  pixels?: FramePixels;
  /** The subscriber's own query version this result answers. */
  queryVersion: number;
  timings: Timings;
  detections: readonly Readonly<Detection>[];
  /** IDs of tracks this subscriber was shown that are gone for good (absent when none). */
  lost?: number[];
  error?: { code: string; message: string };
}

export interface PipelineOptions {
  /** Tracker settings, or false for no tracking (no `trackId`s). Default: tracking on, defaults. */
  tracking?: TrackerOptions | false;
  /** A ready tracker used instead of one built from `tracking` (a replay serves recorded tracks). */
  tracker?: PipelineTracker;
}

/** What the pipeline asks of a tracker; StreamTracker is the real one. */
export type PipelineTracker = Pick<StreamTracker, 'detectThresholds' | 'update'>;

export interface PipelineStats {
  framesIn: number;
  /** Frames that got an inference. */
  framesProcessed: number;
  /** Frames replaced by a newer one while the model was busy. */
  framesDropped: number;
  /** Frames that arrived while nobody watched (no inference). */
  framesIdle: number;
  inferenceErrors: number;
}


export class StreamPipeline {
  readonly stats: PipelineStats = { framesIn: 0, framesProcessed: 0, framesDropped: 0, framesIdle: 0, inferenceErrors: 0 };
  private readonly registry: QueryRegistry;
  private readonly results = new Subject<InferenceResult>();
  private readonly sub: Subscription;
  private prepared: { version: number; set: QuerySet } | null = null;
  /** Frames in order of arrival (seq may start again; this does not), the newest of them, and the
   * arrival number of the newest frame an inference has taken. */
  private readonly arrivalOf = new WeakMap<Frame, number>();
  private arrivals = 0;
  private newest: Frame | null = null;
  private taken = -1;
  private closed = false;
  private readonly tracker: PipelineTracker | null;
  private readonly views = new Map<string, TrackView>();
  /** Work shared by the subscribers of the result being handed out (see view()). */
  private shared: {
    result: InferenceResult;
    selections: Map<string, TrackedDetection[]>;
    /** Per selection key: TrackView outputs by marks. */
    views: Map<string, Map<string, { detections: Detection[]; lost: number[] }>>;
  } | null = null;

  constructor(
    readonly id: string,
    frames$: Observable<Frame>,
    private readonly model: GroundingModel,
    private readonly limiter: Limiter,
    options: PipelineOptions = {},
  ) {
    this.registry = new QueryRegistry(model.info.threshold, model.info.maxQueries);
    this.tracker = options.tracker ?? (options.tracking === false ? null : new StreamTracker(options.tracking));
    this.sub = frames$
      .pipe(
        filter((f) => {
          this.stats.framesIn++;
          if (this.registry.size === 0) {
            this.stats.framesIdle++;
            return false;
          }
          this.arrivalOf.set(f, this.arrivals++);
          this.newest = f;
          return true;
        }),
        latestWhileBusy((f) => from(this.infer(f)), () => this.stats.framesDropped++, { defer: setImmediate }),
        filter((r): r is InferenceResult => r !== null),
      )
      .subscribe({ next: (r) => this.results.next(r), complete: () => this.results.complete(), error: (e) => this.results.error(e) });
  }

  /** Every inference result of this stream (union view). */
  get results$(): Observable<InferenceResult> {
    return this.results.asObservable();
  }

  get subscribers(): number {
    return this.registry.size;
  }

  /** Adds a subscriber; returns its first query version and its results (at most `maxRate` a second). */
  subscribe(id: string, queries: readonly string[], options: { threshold?: number; smooth?: boolean; maxRate?: number } = {}) {
    const version = this.registry.set(id, { queries, threshold: options.threshold });
    this.views.set(id, new TrackView(options.smooth ?? false));
    return { version, results$: this.view$(id, options.maxRate) };
  }

  /**
   * A subscriber's own results: its queries, its threshold, its query version; at most `maxRate`
   * a second. The rate is applied before the subscriber's track view, so that a skipped result
   * marks nothing: a track is `new` in the first result the subscriber gets, and the lost IDs of
   * skipped results go out with the next one it gets.
   */
  view$(id: string, maxRate?: number, scheduler: SchedulerLike = asyncScheduler): Observable<SubscriberResult> {
    return defer(() => {
      const pass = rateGate(maxRate, scheduler);
      let carried: number[] = [];
      return this.results.pipe(
        map((r) => {
          if (!pass()) {
            if (r.lost?.length) carried.push(...r.lost);
            return null;
          }
          const lost = carried.length ? [...carried, ...(r.lost ?? [])] : r.lost;
          carried = [];
          return this.view(id, r, lost);
        }),
        filter((r): r is SubscriberResult => r !== null),
      );
    });
  }

  /** Changes a subscriber's queries and/or threshold; takes effect from the next inference. */
  update(id: string, change: { queries?: readonly string[]; threshold?: number }): number {
    const cur = this.registry.get(id);
    if (!cur) throw new Error(`no subscriber ${id}`);
    return this.registry.set(id, { queries: change.queries ?? cur.queries, threshold: change.threshold ?? cur.threshold });
  }

  unsubscribe(id: string): void {
    this.registry.remove(id);
    this.views.delete(id);
  }

  queriesOf(id: string): readonly string[] | undefined {
    return this.registry.get(id)?.queries;
  }

  close(): void {
    this.closed = true; // an inference still waiting for the model will not run
    this.sub.unsubscribe();
    this.results.complete();
    this.shared = null; // it holds the last result's frame
    this.newest = null;
  }

  private view(id: string, r: InferenceResult, lost: readonly number[] | undefined = r.lost): SubscriberResult | null {
    // Every subscriber sees a result in the same synchronous pass; those with the same queries,
    // threshold and track history share one filtered, marked detections array (encoded once too).
    if (this.shared?.result !== r) this.shared = { result: r, selections: new Map(), views: new Map() };
    const sel = this.registry.select(id, r.streamVersion, r.detections, this.shared.selections);
    if (!sel) return null;
    const view = this.views.get(id);
    // the view swaps in smoothed values if asked, marks tracks new or updated, and filters `lost`
    let views = this.shared.views.get(sel.key);
    if (!views) this.shared.views.set(sel.key, (views = new Map()));
    const tracked = view ? view.apply(sel.detections, lost ?? [], views, sel.queries) : { detections: sel.detections, lost: [] };
    // Shared between subscribers and encoded once (protocol/encode.ts caches frozen values): frozen
    // so that nobody can change what another subscriber, or the cache, already holds.
    if (!Object.isFrozen(tracked.detections)) freezeDetections(tracked.detections);
    return {
      subscription: id,
      stream: r.stream,
      frame: r.frame,
      ...(r.pixels ? { pixels: r.pixels } : {}),
      queryVersion: sel.version,
      timings: r.timings,
      detections: tracked.detections,
      ...(tracked.lost.length ? { lost: tracked.lost } : {}),
      ...(r.error ? { error: r.error } : {}),
    };
  }

  private async infer(given: Frame): Promise<InferenceResult | null> {
    // A frame an earlier inference already took a newer one over is not run again.
    if (this.arrivalOf.get(given)! <= this.taken) return null;
    const release = await this.limiter.acquire();
    if (this.closed) {
      release();
      return null;
    }
    // While this waited for the model (other streams had it), newer frames may have come: the
    // newest wins, as it does while the model is busy with this stream.
    const f = this.newest ?? given;
    if (f !== given) this.stats.framesDropped++;
    this.taken = this.arrivalOf.get(f)!;
    const frame: FrameMeta = Object.freeze({
      seq: f.seq,
      pts: f.pts,
      capturedAt: f.capturedAt,
      width: f.sourceWidth ?? f.width,
      height: f.sourceHeight ?? f.height,
    });
    const u = this.registry.union();
    try {
      if (!u.texts.length) return null;
      if (this.prepared?.version !== u.version) this.prepared = { version: u.version, set: await this.model.prepareQueries(u.texts) };
      const r = await this.model.detect(
        { data: f.data, width: f.width, height: f.height, sourceWidth: f.sourceWidth, sourceHeight: f.sourceHeight },
        this.prepared.set,
        // the tracker's low pass wants scores below what anyone sees; they are cut after tracking
        { thresholds: this.tracker ? this.tracker.detectThresholds(u.thresholds) : u.thresholds },
      );
      this.stats.framesProcessed++;
      const tr = this.tracker?.update(r.detections, f.pts, u.thresholds);
      return {
        stream: this.id,
        frame,
        pixels: { data: f.data, width: f.width, height: f.height },
        streamVersion: u.version,
        timings: { decode: r.timings.preprocess, infer: r.timings.infer + r.timings.postprocess, total: Date.now() - f.capturedAt },
        detections: tr ? tr.detections.filter((d) => d.score >= u.thresholds[d.query]!) : r.detections,
        ...(tr?.lost.length ? { lost: tr.lost } : {}),
      };
    } catch (e) {
      this.stats.inferenceErrors++;
      const error = isGroundstreamError(e)
        ? { code: e.code, message: e.message }
        : { code: 'MODEL_RUN_FAILED', message: e instanceof Error ? e.message : String(e) };
      return { stream: this.id, frame, streamVersion: u.version, timings: { decode: 0, infer: 0, total: Date.now() - f.capturedAt }, detections: [], error };
    } finally {
      release();
    }
  }
}

function freezeDetections(list: Detection[]): void {
  for (const d of list) {
    Object.freeze(d.box);
    Object.freeze(d);
  }
  Object.freeze(list);
}
