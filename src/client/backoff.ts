/** Reconnect timing: exponential backoff with jitter. */
export interface BackoffOptions {
  /** Delay before the first retry, ms. Default 500. */
  readonly initialMs: number;
  /** Cap on any delay, ms. Default 30000. */
  readonly maxMs: number;
  /** Growth per failed attempt. Default 2. */
  readonly factor: number;
  /** Fraction of each delay drawn at random, 0..1: the delay lies in [d·(1-jitter), d]. Default 0.5. */
  readonly jitter: number;
  /** Retries after a failed or lost connection before giving up (CLIENT_RECONNECT_EXHAUSTED), in a
   * row: `3` makes four connection attempts in all, `0` none after the first (`reconnect: false`).
   * A connection that reaches `hello` starts the count again. Default Infinity. */
  readonly maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Infinity,
});

/**
 * Delay before retry number `attempt` (0 for the first retry). Jitter spreads the retries of many
 * clients after a server restart, so they do not all arrive at once.
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(o.maxMs, o.initialMs * o.factor ** attempt);
  return Math.round(base * (1 - o.jitter * random()));
}
