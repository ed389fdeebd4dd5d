/**
 * Constant-velocity Kalman filter for one box, in continuous time (seconds), so a frame dropped
 * under load is just a longer step. The state is (cx, cy, w, h) and their velocities; with
 * diagonal noise and a position-only measurement the 8-state filter splits exactly into four
 * independent 2-state filters (position, velocity), which is what this runs: a few dozen flops a
 * step, no matrices.
 *
 * Noise scales with the box's size (sqrt(w h)), as ByteTrack's scales with its height, so small
 * and large objects are tracked alike. The constants are ByteTrack's per-frame ones at 30 fps
 * converted to per-second rates.
 */
import type { Box } from '../domain/types.js';

/** Noise model, in box sizes (sqrt(w h)); defaults in MOTION_DEFAULTS. */
export interface MotionConfig {
  /** Measurement noise: std of a detected coordinate, in sizes. Default 0.05. */
  readonly measureStd: number;
  /** Random-walk noise on position, in sizes / sqrt(s). Default 0.27 (ByteTrack's 1/20 a frame at 30 fps). */
  readonly positionWalk: number;
  /** White-noise acceleration, in sizes / s^1.5. Default 2 (objects bounce off frame edges). */
  readonly accelStd: number;
  /** Initial velocity std, in sizes / s. Default 2. */
  readonly initialVelocityStd: number;
}

export const MOTION_DEFAULTS: MotionConfig = Object.freeze({
  measureStd: 0.05,
  positionWalk: 0.27,
  accelStd: 2,
  initialVelocityStd: 2,
});

// Per dimension: x, v, P00, P01, P11.
const X = 0;
const V = 1;
const P00 = 2;
const P01 = 3;
const P11 = 4;
const STRIDE = 5;

export class BoxMotion {
  private readonly s = new Float64Array(4 * STRIDE);
  /** Time of the state, seconds (pts). */
  private t: number;

  constructor(
    box: Box,
    t: number,
    private readonly config: MotionConfig = MOTION_DEFAULTS,
  ) {
    this.t = t;
    const size = boxSize(box);
    const r = (config.measureStd * size) ** 2;
    const pv = (config.initialVelocityStd * size) ** 2;
    const z = centre(box);
    for (let i = 0; i < 4; i++) {
      const o = i * STRIDE;
      this.s[o + X] = z[i]!;
      this.s[o + V] = 0;
      this.s[o + P00] = 4 * r;
      this.s[o + P01] = 0;
      this.s[o + P11] = pv;
    }
  }

  /** Moves the state forward to time `t` (seconds); a step back or in place changes nothing. */
  predict(t: number): void {
    const dt = t - this.t;
    if (!(dt > 0)) return;
    this.t = t;
    const size = this.size();
    const qa = (this.config.accelStd * size) ** 2;
    const qw = (this.config.positionWalk * size) ** 2 * dt;
    const q00 = (qa * dt * dt * dt) / 3 + qw;
    const q01 = (qa * dt * dt) / 2;
    const q11 = qa * dt;
    for (let o = 0; o < 4 * STRIDE; o += STRIDE) {
      const s = this.s;
      s[o + X]! += s[o + V]! * dt;
      // P = F P F' + Q, F = [[1, dt], [0, 1]]
      const p00 = s[o + P00]!;
      const p01 = s[o + P01]!;
      const p11 = s[o + P11]!;
      s[o + P00] = p00 + 2 * dt * p01 + dt * dt * p11 + q00;
      s[o + P01] = p01 + dt * p11 + q01;
      s[o + P11] = p11 + q11;
    }
  }

  /** Folds in a measured box taken at the current state time (call predict first). */
  update(box: Box): void {
    const z = centre(box);
    const r = (this.config.measureStd * Math.max(boxSize(box), 1)) ** 2;
    for (let i = 0; i < 4; i++) {
      const o = i * STRIDE;
      const s = this.s;
      const p00 = s[o + P00]!;
      const p01 = s[o + P01]!;
      const p11 = s[o + P11]!;
      const k0 = p00 / (p00 + r);
      const k1 = p01 / (p00 + r);
      const y = z[i]! - s[o + X]!;
      s[o + X]! += k0 * y;
      s[o + V]! += k1 * y;
      s[o + P00] = (1 - k0) * p00;
      s[o + P01] = (1 - k0) * p01;
      s[o + P11] = p11 - k1 * p01;
    }
  }

  /** The state's box, [x1, y1, x2, y2]; width and height at least 1. */
  box(): Box {
    const s = this.s;
    const cx = s[X]!;
    const cy = s[STRIDE + X]!;
    const w = Math.max(1, s[2 * STRIDE + X]!);
    const h = Math.max(1, s[3 * STRIDE + X]!);
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
  }

  /** Velocity of the centre, pixels a second. */
  velocity(): [number, number] {
    return [this.s[V]!, this.s[STRIDE + V]!];
  }

  get time(): number {
    return this.t;
  }

  private size(): number {
    return Math.max(1, Math.sqrt(Math.max(1, this.s[2 * STRIDE + X]!) * Math.max(1, this.s[3 * STRIDE + X]!)));
  }
}

function centre(b: Box): [number, number, number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]];
}

function boxSize(b: Box): number {
  return Math.sqrt(Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]));
}
