/**
 * One stream's graph: source frames -> (only while someone watches) newest frame whenever the model
 * is free -> one inference on the union of everyone's queries -> each subscriber's own view.
 *
 * A failed inference becomes an error result for that frame; the stream goes on. Subscribers are
 * fed synchronously as each result comes, so what a subscriber does with its results (the server
 * buffers or conflates per client) never holds up the model or the others. Subscribers sure to get
 * the same results (same queries, threshold and version, same track history, no rate of their own)
 * form a cohort, whose result is built once and handed to each of them as the same object: at
 * hundreds of subscribers, that is what keeps fan-out near one socket write per client.
 *
 * `frames$` is consumed as it comes: give it a source with the 'latest' policy (what the server
 * opens). A 'wait' source emits only on request(), which this graph does not make; evaluation,
 * which must see every frame, drives its source itself (eval/clip-frames.ts).
 */
import { BehaviorSubject, Observable, Subject, Subscription, distinctUntilChanged, filter, from, type SchedulerLike, type Subscriber } from 'rxjs';
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

/** What one subscriber gets. Subscribers with the same view of a result get the same object
 * (a subscriber knows its own id: it is the one it subscribed with); it, its `frame`, `detections`
 * and `lost` are frozen: copy them to change them. */
export interface SubscriberResult {
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
  /** Subscribers, each in one cohort: subscribers who are sure to get the same results. */
  private readonly members = new Map<string, Member>();
  private readonly cohorts = new Set<Cohort>();
  /** While a result is handed out: moves between cohorts asked for meanwhile, made after it. */
  private deferred: (() => void)[] | null = null;
  /** How the results ended (the source completed or failed, or close()), once they have. */
  private ended: ((s: Subscriber<SubscriberResult>) => void) | null = null;

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
      .subscribe({
        next: (r) => {
          this.results.next(r);
          this.handOut(r);
        },
        complete: () => this.end((s) => s.complete()),
        error: (e) => this.end((s) => s.error(e)),
      });
  }

  /** Every inference result of this stream (union view). */
  get results$(): Observable<InferenceResult> {
    return this.results.asObservable();
  }

  get subscribers(): number {
    return this.registry.size;
  }

  private readonly subscriberCount = new BehaviorSubject(0);

  /** How many subscribers there are: now, then at each change (on-demand sources follow it). */
  get subscribers$(): Observable<number> {
    return this.subscriberCount.pipe(distinctUntilChanged());
  }

  /**
   * Adds a subscriber; returns its first query version and its results (at most `maxRate` a
   * second: the rate is applied before the subscriber's track view, so that a skipped result
   * marks nothing: a track is `new` in the first result the subscriber gets, and the lost IDs of
   * skipped results go out with the next one it gets). `scheduler`: the clock of the rate. An id
   * already subscribed is refused (unsubscribe it first).
   */
  subscribe(
    id: string,
    queries: readonly string[],
    options: { threshold?: number; smooth?: boolean; maxRate?: number; scheduler?: SchedulerLike } = {},
  ): { version: number; results$: Observable<SubscriberResult> } {
    if (this.members.has(id)) throw new Error(`subscriber ${id} exists`);
    const version = this.registry.set(id, { queries, threshold: options.threshold });
    this.subscriberCount.next(this.registry.size);
    const member: Member = { id, cohort: null!, listeners: new Set(), scheduler: options.scheduler };
    if (!this.ended) {
      this.members.set(id, member);
      this.join(member, new Cohort(new TrackView(options.smooth ?? false), options.maxRate, options.scheduler));
    }
    const results$ = new Observable<SubscriberResult>((subscriber) => {
      if (this.ended) return this.ended(subscriber);
      if (this.members.get(id) !== member) return subscriber.complete();
      member.listeners.add(subscriber);
      return () => member.listeners.delete(subscriber);
    });
    return { version, results$ };
  }

  /** Changes a subscriber's queries, threshold and/or rate (null: no limit); takes effect from the
   * next inference. Returns the subscriber's new query version. */
  update(id: string, change: { queries?: readonly string[]; threshold?: number; maxRate?: number | null }, scheduler?: SchedulerLike): number {
    const cur = this.registry.get(id);
    if (!cur) throw new Error(`no subscriber ${id}`);
    const version = this.registry.set(id, { queries: change.queries ?? cur.queries, threshold: change.threshold ?? cur.threshold });
    const member = this.members.get(id);
    if (!member) return version; // the results have ended: nothing more to hand it
    if (scheduler) member.scheduler = scheduler;
    // It no longer gets what its cohort gets: on its own from here, with the same track history
    // (and rate gate, unless the rate changed). During a hand-out, once it has had this result.
    const move = () => {
      if (this.members.get(id) !== member) return;
      const was = member.cohort;
      const rate = change.maxRate === undefined ? was.maxRate : (change.maxRate ?? undefined);
      this.leave(member);
      this.join(member, was.split(rate, member.scheduler));
    };
    if (this.deferred) this.deferred.push(move);
    else move();
    return version;
  }

  unsubscribe(id: string): void {
    const member = this.members.get(id);
    this.registry.remove(id);
    this.subscriberCount.next(this.registry.size);
    if (!member) return;
    this.members.delete(id);
    this.leave(member);
    for (const l of member.listeners) l.complete();
  }

  queriesOf(id: string): readonly string[] | undefined {
    return this.registry.get(id)?.queries;
  }

  close(): void {
    this.closed = true; // an inference still waiting for the model will not run
    this.subscriberCount.complete();
    this.sub.unsubscribe();
    this.end((s) => s.complete());
    this.newest = null;
  }

  /** Ends every subscriber's results, and those of anyone who subscribes later, alike. */
  private end(how: (s: Subscriber<SubscriberResult> | Subject<InferenceResult>) => void): void {
    if (this.ended) return;
    this.ended = how;
    how(this.results);
    const members = [...this.members.values()];
    this.members.clear();
    this.cohorts.clear();
    for (const m of members) for (const l of [...m.listeners]) how(l);
  }

  private join(member: Member, cohort: Cohort): void {
    member.cohort = cohort;
    cohort.members.push(member);
    this.cohorts.add(cohort);
  }

  private leave(member: Member): void {
    const c = member.cohort;
    c.members.splice(c.members.indexOf(member), 1);
    if (!c.members.length) this.cohorts.delete(c);
  }

  /**
   * Hands a result to every subscriber: filtered, marked and built once per cohort, then given to
   * each of its members as the same object. This is the fan-out: at hundreds of subscribers, the
   * per-subscriber work is one call, and the server's is one socket write (server/result-frame.ts).
   */
  private handOut(r: InferenceResult): void {
    const shared: Shared = { selections: new Map(), views: new Map() };
    /** Cohorts that may merge with another, by query set and smoothing. */
    const candidates = new Map<string, Cohort[]>();
    this.deferred = [];
    try {
      for (const c of [...this.cohorts]) {
        if (this.ended) return;
        if (!this.cohorts.has(c)) continue; // all its members left meanwhile
        const out = this.view(c, r, shared);
        if (!out) continue;
        for (const m of [...c.members]) for (const l of [...m.listeners]) l.next(out);
        // Cohorts whose members now stand alike merge: the same query set (own version, queries,
        // threshold), in force for this result and so for every later one until one of them
        // changes it (and leaves), the same track history after this result, no rate of theirs.
        if (c.maxRate !== undefined || !c.members.length) continue;
        const q = this.registry.current(c.members[0]!.id);
        if (!q || q.since > r.streamVersion) continue;
        const key = `${q.own}|${q.key}|${c.view.smooth ? 's' : 'r'}`;
        const list = candidates.get(key);
        if (list) list.push(c);
        else candidates.set(key, [c]);
      }
    } finally {
      const moves = this.deferred;
      this.deferred = null;
      for (const move of moves) move();
    }
    for (const list of candidates.values()) {
      if (list.length < 2) continue;
      const alike = new Map<string, Cohort>();
      for (const c of list) {
        if (!this.cohorts.has(c) || c.maxRate !== undefined) continue; // changed by a move above
        const print = c.view.fingerprint();
        const into = alike.get(print);
        if (!into) alike.set(print, c);
        else {
          for (const m of c.members) this.join(m, into);
          c.members.length = 0;
          this.cohorts.delete(c);
        }
      }
    }
  }

  private view(c: Cohort, r: InferenceResult, shared: Shared): SubscriberResult | null {
    if (!c.members.length) return null;
    if (c.pass && !c.pass()) {
      if (r.lost?.length) c.carried.push(...r.lost);
      return null;
    }
    // lost IDs of results a rate skipped go out with the next result given
    const lost = c.carried.length ? [...c.carried, ...(r.lost ?? [])] : r.lost;
    c.carried = [];
    const sel = this.registry.select(c.members[0]!.id, r.streamVersion, r.detections, shared.selections);
    if (!sel) return null;
    let views = shared.views.get(sel.key);
    if (!views) shared.views.set(sel.key, (views = new Map()));
    // the view swaps in smoothed values if asked, marks tracks new or updated, and filters `lost`
    const tracked = c.view.apply(sel.detections, lost ?? [], views, sel.queries);
    // Shared between subscribers and encoded once (protocol/encode.ts caches frozen values): frozen
    // so that nobody can change what another subscriber, or the cache, already holds.
    if (!Object.isFrozen(tracked.detections)) freezeDetections(tracked.detections);
    if (!Object.isFrozen(tracked.lost)) Object.freeze(tracked.lost);
    return Object.freeze({
      stream: r.stream,
      frame: r.frame,
      ...(r.pixels ? { pixels: r.pixels } : {}),
      queryVersion: sel.version,
      timings: r.timings,
      detections: tracked.detections,
      ...(tracked.lost.length ? { lost: tracked.lost } : {}),
      ...(r.error ? { error: r.error } : {}),
    });
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
        timings: { decode: (f.decodeMs ?? 0) + r.timings.preprocess, infer: r.timings.infer + r.timings.postprocess, total: Date.now() - f.capturedAt },
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

/** Work the cohorts of one result share: selections by query set, and TrackView outputs by
 * selection key and marks. */
interface Shared {
  selections: Map<string, TrackedDetection[]>;
  views: Map<string, Map<string, { detections: Detection[]; lost: number[] }>>;
}

interface Member {
  id: string;
  cohort: Cohort;
  /** Whoever subscribed to its results$. */
  listeners: Set<Subscriber<SubscriberResult>>;
  /** The clock of its rate, if it was given one (tests). */
  scheduler?: SchedulerLike;
}

/** Subscribers who get the same results: one track view, one rate. A subscriber starts in a cohort
 * of its own; cohorts merge once their members stand alike (StreamPipeline.handOut), and one that
 * changes its queries, threshold or rate leaves for a cohort of its own again. */
class Cohort {
  readonly members: Member[] = [];
  /** A positive rate, or undefined (no limit). */
  readonly maxRate: number | undefined;
  readonly pass: (() => boolean) | null;
  /** Lost IDs of results the rate skipped, for the next result that passes. */
  carried: number[] = [];

  constructor(
    readonly view: TrackView,
    maxRate?: number,
    private readonly scheduler?: SchedulerLike,
    pass?: (() => boolean) | null,
  ) {
    this.maxRate = maxRate !== undefined && maxRate > 0 ? maxRate : undefined;
    this.pass = pass !== undefined ? pass : this.maxRate ? rateGate(this.maxRate, scheduler) : null;
  }

  /** A cohort for one member leaving this one: the same track history and lost IDs held back; the
   * same rate gate, unless the rate or its clock changed. */
  split(maxRate: number | undefined, scheduler?: SchedulerLike): Cohort {
    const rate = maxRate !== undefined && maxRate > 0 ? maxRate : undefined;
    const keep = rate === this.maxRate && scheduler === this.scheduler;
    const c = new Cohort(this.view.clone(), rate, scheduler, keep ? this.pass : undefined);
    c.carried = [...this.carried];
    return c;
  }
}

function freezeDetections(list: Detection[]): void {
  for (const d of list) {
    Object.freeze(d.box);
    Object.freeze(d);
  }
  Object.freeze(list);
}
