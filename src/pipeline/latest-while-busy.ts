/**
 * `latestWhileBusy(work)`: runs `work` on a value whenever it is free. Values that arrive while it
 * is busy are not queued: only the newest waits, and each one it replaces is reported to `onDrop`.
 * This is the "newest frame wins" policy (roboflow calls it EAGER): latency stays bounded by one
 * inference however fast the source, and nothing piles up.
 *
 * Completes when the source has completed and the running and waiting work is done. An error from
 * `work` errors the output: callers that must survive a failed frame catch inside `work`.
 */
import { Observable, from, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

export function latestWhileBusy<T, R>(work: (value: T) => ObservableInput<R>, onDrop?: (value: T) => void): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let busy = false;
      let waiting: { value: T } | null = null;
      let sourceDone = false;
      let inner: Subscription | null = null;

      const start = (value: T): void => {
        busy = true;
        inner = from(work(value)).subscribe({
          next: (r) => subscriber.next(r),
          error: (e) => subscriber.error(e),
          complete: () => {
            busy = false;
            inner = null;
            if (waiting) {
              const next = waiting.value;
              waiting = null;
              start(next);
            } else if (sourceDone) {
              subscriber.complete();
            }
          },
        });
      };

      const outer = source.subscribe({
        next: (value) => {
          if (!busy) return start(value);
          if (waiting) onDrop?.(waiting.value);
          waiting = { value };
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          if (!busy && !waiting) subscriber.complete();
        },
      });

      return () => {
        outer.unsubscribe();
        inner?.unsubscribe();
        waiting = null;
      };
    });
}
