/** Tracker settings: defaults, validation, freezing. */
import { MOTION_DEFAULTS, type MotionConfig } from './motion.js';
import { SMOOTHING_DEFAULTS, type SmoothingConfig } from './smoother.js';

export interface TrackerConfig {
  /**
   * Score at or above which a detection is "high" (first association pass, may start a track).
   * Default null: each query's reporting threshold (the lowest any subscriber asked for), so every
   * reported detection can start or keep a track.
   */
  readonly highThreshold: number | null;
  /** Floor of the second ("low") pass: detections from here up to the high threshold only keep
   * tracks alive and are never reported. Default 0.1, and at most half the high threshold
   * (lowFloor): a real OWL-ViT's threshold is 0.1 itself, which left it no low pass. */
  readonly lowThreshold: number;
  /** Least IoU between a predicted track box and a high detection to pair them. Default 0.2. */
  readonly matchIou: number;
  /** Least IoU for the low pass (stricter: low scores are less trustworthy). Default 0.5. */
  readonly lowMatchIou: number;
  /** Least IoU to pair a not-yet-confirmed track. Default 0.3. */
  readonly tentativeMatchIou: number;
  /** Recovery pass: a track missing for `gap` seconds may take a high detection left over whose
   * centre is within `0.5 + recoverDistance * gap` of its predicted centre, in sizes (sqrt(w h)),
   * when their areas are within 2x. Catches small objects that turned while unseen (dropped
   * frames, misses). 0 = off. Default 3 (sizes a second). */
  readonly recoverDistance: number;
  /** Seconds (of pts) a track is kept without a detection before it is dropped. Default 1. */
  readonly lostSeconds: number;
  /** Detections a new track needs, in consecutive processed frames, before it gets an ID. Default 2. */
  readonly confirmHits: number;
  /** Most detections a query's tracker takes a frame, best first; the rest pass through without an
   * ID. Also caps its tracks at twice this (the longest-unseen go first). Bounds the cost when a
   * subscriber asks for a very low threshold. Default 64. */
  readonly maxDetections: number;
  readonly motion: MotionConfig;
  readonly smoothing: SmoothingConfig;
}

export type TrackerOptions = Partial<Omit<TrackerConfig, 'motion' | 'smoothing'>> & {
  motion?: Partial<MotionConfig>;
  smoothing?: Partial<SmoothingConfig>;
};

export const TRACKER_DEFAULTS: TrackerConfig = Object.freeze({
  highThreshold: null,
  lowThreshold: 0.1,
  matchIou: 0.2,
  lowMatchIou: 0.5,
  tentativeMatchIou: 0.3,
  recoverDistance: 3,
  lostSeconds: 1,
  confirmHits: 2,
  maxDetections: 64,
  motion: MOTION_DEFAULTS,
  smoothing: SMOOTHING_DEFAULTS,
});

/** Fills in defaults and checks ranges; throws RangeError on a bad value. */
export function trackerConfig(options: TrackerOptions = {}): TrackerConfig {
  const c: TrackerConfig = {
    ...TRACKER_DEFAULTS,
    ...options,
    motion: Object.freeze({ ...MOTION_DEFAULTS, ...options.motion }),
    smoothing: Object.freeze({ ...SMOOTHING_DEFAULTS, ...options.smoothing }),
  };
  const unit = (name: string, v: number) => {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`tracker ${name} must be in [0, 1], got ${v}`);
  };
  if (c.highThreshold !== null) unit('highThreshold', c.highThreshold);
  for (const k of ['lowThreshold', 'matchIou', 'lowMatchIou', 'tentativeMatchIou'] as const) unit(k, c[k]);
  if (!(c.recoverDistance >= 0)) throw new RangeError(`tracker recoverDistance must be >= 0, got ${c.recoverDistance}`);
  if (!(c.lostSeconds >= 0)) throw new RangeError(`tracker lostSeconds must be >= 0, got ${c.lostSeconds}`);
  if (!Number.isInteger(c.maxDetections) || c.maxDetections < 1) throw new RangeError(`tracker maxDetections must be an integer >= 1, got ${c.maxDetections}`);
  if (!Number.isInteger(c.confirmHits) || c.confirmHits < 1) throw new RangeError(`tracker confirmHits must be an integer >= 1, got ${c.confirmHits}`);
  for (const [k, v] of [...Object.entries(c.motion), ...Object.entries(c.smoothing)]) {
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`tracker ${k} must be a finite number >= 0, got ${v}`);
  }
  return Object.freeze(c);
}

/** The low pass's floor under `high`: the configured one, and at most half of `high`. */
export function lowFloor(c: Pick<TrackerConfig, 'lowThreshold'>, high: number): number {
  return Math.min(c.lowThreshold, high / 2);
}
