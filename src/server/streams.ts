/**
 * The server's streams: each is a frame source (ffmpeg or pushed frames) feeding a StreamPipeline
 * that shares the one model. Adding, listing and removing streams, and their status changes.
 */
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { StreamSpec } from '../config/config.js';
import { GroundstreamError } from '../errors.js';
import type { FrameSource, SourceStatus } from '../ingest/index.js';
import { redactSecrets } from '../ingest/url-policy.js';
import type { GroundingModel } from '../model/index.js';
import type { Limiter } from '../pipeline/limiter.js';
import { StreamPipeline, type InferenceResult, type PipelineOptions, type PipelineStats } from '../pipeline/stream-pipeline.js';
import type { StreamInfo, StreamState } from '../protocol/index.js';

/** Opens the source a spec names; the server passes ingest's factory, tests pass fakes. */
export type SourceFactory = (spec: StreamSpec, model: GroundingModel) => Promise<FrameSource>;

export interface StreamEntry {
  readonly id: string;
  readonly spec: StreamSpec;
  readonly source: FrameSource;
  readonly pipeline: StreamPipeline;
  status: SourceStatus;
  /** Times the source went to reconnect, by the code of the error that made it (`none` when it
   * ended without one): /metrics. */
  readonly reconnects: Map<string, number>;
}

/**
 * A stream's frame counts as the API and metrics report them: the pipeline's, with the frames its
 * source received and replaced before the pipeline saw them (pushed images superseded while the
 * decoder was busy) counted as received and dropped, as the pipeline counts its own.
 */
export function streamStats(e: StreamEntry): PipelineStats {
  const s = e.pipeline.stats;
  const early = e.source.framesSuperseded ?? 0;
  return early ? { ...s, framesIn: s.framesIn + early, framesDropped: s.framesDropped + early } : { ...s };
}

export interface StreamStatusEvent {
  stream: string;
  state: StreamState;
  detail?: string;
  /** The error's code, when the state has one. */
  code?: string;
  width?: number;
  height?: number;
}

export class StreamManager {
  private readonly streams = new Map<string, StreamEntry>();
  private readonly subs = new Map<string, Subscription>();
  private readonly statusSubject = new Subject<StreamStatusEvent>();
  private readonly removedSubject = new Subject<string>();
  private readonly resultsSubject = new Subject<InferenceResult>();

  constructor(
    private readonly model: GroundingModel,
    private readonly limiter: Limiter,
    private readonly openSource: SourceFactory,
    /** Options of every stream's pipeline (tracking). Default: the pipeline's defaults. */
    private readonly pipelineOptions: PipelineOptions = {},
    /** On-demand streams: ms a source stays open after its last subscriber left. */
    private readonly onDemandCloseMs = 10_000,
  ) {}

  /** Every status change of every stream. */
  get status$(): Observable<StreamStatusEvent> {
    return this.statusSubject.asObservable();
  }

  /** Every inference result of every stream (for metrics). */
  get results$(): Observable<InferenceResult> {
    return this.resultsSubject.asObservable();
  }

  /** Ids of streams as they are removed. */
  get removed$(): Observable<string> {
    return this.removedSubject.asObservable();
  }

  get(id: string): StreamEntry | undefined {
    return this.streams.get(id);
  }

  list(): StreamEntry[] {
    return [...this.streams.values()];
  }

  info(e: StreamEntry): StreamInfo {
    const w = e.status.sourceWidth ?? e.status.width;
    const h = e.status.sourceHeight ?? e.status.height;
    return { id: e.id, state: e.status.state, ...(w && h ? { width: w, height: h } : {}) };
  }

  /** Opens a source and starts its pipeline. Fails with STREAM_EXISTS or the source's own code. */
  async add(spec: StreamSpec): Promise<StreamEntry> {
    if (this.streams.has(spec.id)) throw new GroundstreamError('STREAM_EXISTS', spec.id);
    const source = await this.openSource(spec, this.model);
    if (this.streams.has(spec.id)) {
      await source.stop();
      throw new GroundstreamError('STREAM_EXISTS', spec.id);
    }
    const pipeline = new StreamPipeline(spec.id, source.frames$, this.model, this.limiter, this.pipelineOptions);
    const entry: StreamEntry = { id: spec.id, spec, source, pipeline, status: source.status, reconnects: new Map() };
    this.streams.set(spec.id, entry);
    const sub = pipeline.results$.subscribe((r) => this.resultsSubject.next(r));
    this.subs.set(
      spec.id,
      source.status$.subscribe((s) => {
        const prev = entry.status;
        entry.status = s;
        if (s.state === 'reconnecting' && (prev.state !== 'reconnecting' || prev.attempt !== s.attempt)) {
          const code = s.error?.code ?? 'none';
          entry.reconnects.set(code, (entry.reconnects.get(code) ?? 0) + 1);
        }
        const [w, h] = sourceSize(s);
        const [pw, ph] = sourceSize(prev);
        if (s.state !== prev.state || s.error || ((w !== pw || h !== ph) && w && h)) this.statusSubject.next(statusEvent(spec.id, s));
      }),
    );
    this.subs.get(spec.id)!.add(sub);
    if (spec.onDemand && source.setActive) this.subs.get(spec.id)!.add(openWhileWatched(pipeline, source.setActive.bind(source), this.onDemandCloseMs));
    // announced as it is now: clients learn of a new stream at once (a pushed stream or a camera
    // that cannot be reached may stay `connecting` a while before anything else happens)
    this.statusSubject.next(statusEvent(spec.id, entry.status));
    source.start();
    return entry;
  }

  /** Stops a stream's source (its ffmpeg child included) and forgets it. */
  async remove(id: string): Promise<boolean> {
    const e = this.streams.get(id);
    if (!e) return false;
    this.streams.delete(id);
    this.subs.get(id)?.unsubscribe();
    this.subs.delete(id);
    e.pipeline.close();
    // Announced before the source has stopped (ffmpeg may take a moment to exit): a stream added
    // again under the same id meanwhile must not have its new subscribers torn down by this.
    this.removedSubject.next(id);
    await e.source.stop();
    return true;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.streams.keys()].map((id) => this.remove(id)));
    this.statusSubject.complete();
    this.removedSubject.complete();
    this.resultsSubject.complete();
  }
}

/**
 * Keeps an on-demand source open while its pipeline has subscribers: closed at once when it has
 * none to begin with, opened when the first comes, closed `closeMs` after the last leaves (so
 * that a page reload or a client's reconnect does not restart the camera).
 */
function openWhileWatched(pipeline: StreamPipeline, setActive: (active: boolean) => void, closeMs: number): Subscription {
  let timer: NodeJS.Timeout | undefined;
  let first = true;
  const sub = pipeline.subscribers$.subscribe((n) => {
    clearTimeout(timer);
    if (n > 0) setActive(true);
    else if (first) setActive(false);
    else timer = setTimeout(() => setActive(false), closeMs);
    first = false;
  });
  sub.add(() => clearTimeout(timer));
  return sub;
}

/** A source's size as clients see it: the source's own, else the working size. */
function sourceSize(s: SourceStatus): [number | undefined, number | undefined] {
  return [s.sourceWidth ?? s.width, s.sourceHeight ?? s.height];
}

/** The `status` event of stream `id` in status `s`: an error is its detail. */
function statusEvent(id: string, s: SourceStatus): StreamStatusEvent {
  const [w, h] = sourceSize(s);
  return {
    stream: id,
    state: s.state,
    // (an error may repeat the source's URL: a watch-only client must not learn a camera's password)
    ...(s.error ? { detail: redactSecrets(`${s.error.code}: ${s.error.message}`), code: s.error.code } : s.detail ? { detail: redactSecrets(s.detail) } : {}),
    ...(w && h ? { width: w, height: h } : {}),
  };
}
