/**
 * `rateGate(perSecond)`: a function that says, each time it is asked, whether a value may pass
 * now: only when at least 1/perSecond seconds have passed since the last one it let through (a
 * subscriber's `maxRate`). Undefined or non-positive rates let everything through. One gate per
 * subscriber with a rate (kept while its updates leave the rate alone): the stream pipeline asks it
 * before the subscriber's track view, so that a skipped result marks nothing and its lost track IDs
 * can go out with the next one.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';

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
