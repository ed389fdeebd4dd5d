/**
 * A GroundingModel that answers from a recording instead of running a network: for a frame of
 * the replay source it returns the detections recorded for that frame, so the whole server path
 * (pipeline, sessions, back-pressure) serves them as it served the originals.
 *
 * The frame is recognised by its pixel buffer: `placeholder(i)` makes the 1x1 buffer the replay
 * source emits for result `i`, and detect() looks it up (a WeakMap, so frames are never kept
 * alive here). An image from anywhere else is refused with MODEL_RUN_FAILED.
 */
import { normalizeQuery } from '../domain/query.js';
import type { Detection } from '../domain/types.js';
import { GroundstreamError } from '../errors.js';
import type { DetectOptions, DetectResult, GroundingModel, ModelInfo, QuerySet } from '../model/grounding-model.js';
import type { ImageInput } from '../model/image-input.js';
import type { PipelineTracker } from '../pipeline/stream-pipeline.js';
import type { RecordedResult, Session } from './read-session.js';

export class RecordedModel implements GroundingModel {
  readonly info: ModelInfo;
  private readonly tags = new WeakMap<Uint8Array, number>();
  /** The detections arrays detect() returned, by result index, for the recorded tracker. */
  private readonly answers = new WeakMap<readonly Detection[], number>();
  private readonly recorded: ReadonlySet<string>;

  constructor(private readonly session: Pick<Session, 'header' | 'results'>) {
    const m = session.header.server.model;
    this.info = {
      name: m.name,
      family: m.type,
      // what the recorded server said (hello.model), so that a replay's hello says it too; nothing
      // is resized for this model (its frames are 1x1 placeholders and workingSize() says so).
      // A recording from a server that did not say has 1, the size of those placeholders.
      imageSize: m.imageSize ?? 1,
      // (a default below what was recorded would ask for detections the recording does not have)
      threshold: Math.max(m.threshold, session.header.threshold),
      minThreshold: session.header.threshold,
      nmsIou: null,
      mode: 'combined',
      executionProviders: [],
    };
    this.recorded = new Set(session.header.queries);
  }

  /** The pixels (one black RGB pixel) the replay source sends for result `index`. */
  placeholder(index: number): Uint8Array {
    const data = new Uint8Array(3);
    this.tags.set(data, index);
    return data;
  }

  /** Normalises and deduplicates like the real models; a query the recording lacks is QUERY_INVALID. */
  async prepareQueries(texts: readonly string[]): Promise<QuerySet> {
    const out = normalizeAll(texts);
    if (out.length === 0) throw new GroundstreamError('QUERY_EMPTY', 'no query left after normalising');
    const missing = out.filter((q) => !this.recorded.has(q));
    if (missing.length) {
      throw new GroundstreamError('QUERY_INVALID', `not in the recording: ${missing.map((q) => JSON.stringify(q)).join(', ')}; it has ${[...this.recorded].map((q) => JSON.stringify(q)).join(', ')}`);
    }
    return { texts: out };
  }

  /** The recorded detections of the frame's result, for the asked queries at or above their
   * thresholds, in recorded order, with the recorded decode and inference times. */
  async detect(image: ImageInput, queries: QuerySet | readonly string[], options: DetectOptions = {}): Promise<DetectResult> {
    const index = this.tags.get(image instanceof Uint8Array ? image : image.data);
    const result: RecordedResult | undefined = index === undefined ? undefined : this.session.results[index];
    if (!result) throw new GroundstreamError('MODEL_RUN_FAILED', 'a replay serves only the frames of its recording');
    const texts = new Set(Array.isArray(queries) ? normalizeAll(queries as readonly string[]) : (queries as QuerySet).texts);
    const floor = options.threshold ?? this.info.threshold;
    const detections = result.message.detections
      .filter((d) => texts.has(d.query) && d.score >= (options.thresholds?.[d.query] ?? floor))
      // `track` (new/updated) is per subscriber: the server's track view derives it again from trackId
      .map(({ track: _track, ...d }): Detection => d);
    const { width, height } = result.message.frame;
    // the live run's stage times, so that `timings.decode` and `timings.infer` replay as recorded
    const t = result.message.timings;
    this.answers.set(detections, index!);
    return { detections, width, height, timings: { preprocess: t.decode, infer: t.infer, postprocess: 0 } };
  }

  /**
   * The tracker a replay's pipeline runs instead of a real one: the recorded track IDs stay as
   * they are (tracking again would renumber them, and would lack the low-score detections the
   * live tracker saw), and each result reports the `lost` IDs recorded with it.
   */
  tracker(): PipelineTracker {
    return {
      detectThresholds: (thresholds) => ({ ...thresholds }),
      update: (detections) => {
        const index = this.answers.get(detections);
        const lost = index === undefined ? [] : (this.session.results[index]?.message.lost ?? []);
        return { detections: [...detections], lost: [...lost] };
      },
    };
  }

  workingSize(): { width: number; height: number } {
    return { width: 1, height: 1 };
  }

  async close(): Promise<void> {}
}

const normalizeAll = (texts: readonly string[]) => [...new Set(texts.map(normalizeQuery).filter((t) => t.length > 0))];
