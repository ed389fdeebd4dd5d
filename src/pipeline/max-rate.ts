/**
 * `maxRate(perSecond)`: lets a value through only when at least 1/perSecond seconds have passed
 * since the last one let through; the rest are dropped (a subscriber's `maxRate`). Undefined or
 * non-positive rates let everything through. State lives per subscription.
 *
 * `rateGate` is the same decision as a plain function, for callers that must know which values
 * are skipped (the stream pipeline carries a skipped result's lost track IDs to the next one).
 */
import { asyncScheduler, defer, filter, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';

/** A function that says, each time it is asked, whether a value may pass now. */
export function rateGate(perSecond: number | undefined, scheduler: SchedulerLike = asyncScheduler): () => boolean {
  if (!perSecond || perSecond <= 0) return () => true;
  // a little slack, so that a source running at exactly the rate is not halved by timer jitter
  const gap = (1000 / perSecond) * 0.95;
  let last = -Infinity;
  return () => {
    const now = scheduler.now();
    if (now - last < gap) return false;
    last = now;
    return true;
  };
}

export function maxRate<T>(perSecond: number | undefined, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<T> {
  return (source) => {
    if (!perSecond || perSecond <= 0) return source;
    return defer(() => {
      const pass = rateGate(perSecond, scheduler);
      return source.pipe(filter(() => pass()));
    });
  };
}
