/**
 * `maxRate(perSecond)`: lets a value through only when at least 1/perSecond seconds have passed
 * since the last one let through; the rest are dropped (a subscriber's `maxRate`). Undefined or
 * non-positive rates let everything through. State lives per subscription.
 */
import { asyncScheduler, defer, filter, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';

export function maxRate<T>(perSecond: number | undefined, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<T> {
  return (source) => {
    if (!perSecond || perSecond <= 0) return source;
    // a little slack, so that a source running at exactly the rate is not halved by timer jitter
    const gap = (1000 / perSecond) * 0.95;
    return defer(() => {
      let last = -Infinity;
      return source.pipe(
        filter(() => {
          const now = scheduler.now();
          if (now - last < gap) return false;
          last = now;
          return true;
        }),
      );
    });
  };
}
