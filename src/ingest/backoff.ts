/** Reconnect delays: exponential backoff with jitter, so that many sources that dropped at once
 * (a camera switch rebooted) do not all knock again in the same millisecond. Pure. */

export interface BackoffOptions {
  /** Delay before the first retry, ms. Default 500. */
  readonly initialMs?: number;
  /** Largest delay, ms. Default 30_000. */
  readonly maxMs?: number;
  /** Growth per attempt. Default 2. */
  readonly factor?: number;
  /** Fraction of the delay that is random, in [0, 1]: the delay is drawn from
   * [d * (1 - jitter), d]. Default 0.5. */
  readonly jitter?: number;
  /** Failed tries in a row (without a frame in between) before the source gives up as `failed`.
   * Default Infinity: a live source keeps trying until stopped. */
  readonly maxAttempts?: number;
}

export const BACKOFF_DEFAULTS: Required<BackoffOptions> = {
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Infinity,
};

/** Delay in ms before retry number `attempt` (1 for the first retry). `random` returns [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const o = { ...BACKOFF_DEFAULTS, ...options };
  const exp = Math.max(0, attempt - 1);
  const base = Math.min(o.maxMs, o.initialMs * Math.pow(o.factor, exp));
  const jitter = Math.min(1, Math.max(0, o.jitter));
  return Math.round(base * (1 - jitter * random()));
}
