/**
 * Display smoothing for one track: an exponential moving average of the box with a trend term
 * (Holt's method), so a box moving at constant speed is steadied without trailing behind, and a
 * plain moving average of the score. Time constants are in seconds and each step's weight comes
 * from the time since the last one, so dropped frames do not change how smooth it looks.
 */
import type { Box } from '../domain/types.js';

/** Time constants in seconds; defaults in SMOOTHING_DEFAULTS. 0 turns that part off. */
export interface SmoothingConfig {
  /** Box level. Default 0.1 s. */
  readonly boxTau: number;
  /** Box trend (velocity of each coordinate); 0 = no trend, a plain EMA. Default 0.3 s. */
  readonly trendTau: number;
  /** Score. Default 0.25 s. */
  readonly scoreTau: number;
}

export const SMOOTHING_DEFAULTS: SmoothingConfig = Object.freeze({ boxTau: 0.1, trendTau: 0.3, scoreTau: 0.25 });

/** Weight of a new sample after `dt` seconds for time constant `tau`: 1 = take it as is. */
function weight(dt: number, tau: number): number {
  if (tau <= 0) return 1;
  if (!(dt > 0)) return 0;
  return 1 - Math.exp(-dt / tau);
}

export class BoxSmoother {
  private readonly level: Box;
  private readonly trend: [number, number, number, number] = [0, 0, 0, 0];
  private scoreLevel: number;
  private t: number;

  constructor(
    box: Box,
    score: number,
    t: number,
    private readonly config: SmoothingConfig = SMOOTHING_DEFAULTS,
  ) {
    this.level = [...box];
    this.scoreLevel = score;
    this.t = t;
  }

  /** Adds a sample taken at time `t` (seconds); one at or before the last is folded in as if at it. */
  update(box: Box, score: number, t: number): void {
    const dt = Math.max(0, t - this.t);
    const { boxTau, trendTau, scoreTau } = this.config;
    // a repeated time stamp still counts, with the weight of a 1/30 s step
    const step = dt > 0 ? dt : 1 / 30;
    const a = weight(step, boxTau);
    const b = trendTau > 0 ? weight(step, trendTau) : 0;
    for (let i = 0; i < 4; i++) {
      const prev = this.level[i]!;
      const predicted = prev + this.trend[i]! * dt;
      const next = a >= 1 ? box[i]! : predicted + a * (box[i]! - predicted);
      this.level[i] = next;
      if (dt > 0 && b > 0) this.trend[i]! += b * ((next - prev) / dt - this.trend[i]!);
    }
    const c = weight(step, scoreTau);
    this.scoreLevel = c >= 1 ? score : this.scoreLevel + c * (score - this.scoreLevel);
    if (dt > 0) this.t = t;
  }

  box(): Box {
    return [...this.level];
  }

  score(): number {
    return this.scoreLevel;
  }
}
