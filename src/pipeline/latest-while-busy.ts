/**
 * `latestWhileBusy(work)`: runs `work` on a value whenever it is free. Values that arrive while it
 * is busy are not queued: only the newest waits, and each one it replaces is reported to `onDrop`.
 * This is the "newest frame wins" policy (roboflow calls it EAGER): latency stays bounded by one
 * inference however fast the source, and nothing piles up.
 *
 * Completes when the source has completed and the running and waiting work is done. An error from
 * `work` errors the output: callers that must survive a failed frame catch inside `work`.
 *
 * `options.defer`: how the next value is started once work completes. Default: at once. The
 * stream pipeline passes setImmediate: onnxruntime-node runs a graph on the main thread, so frames
 * that arrived meanwhile still sit in the pipe; one turn of the event loop lets them in, and the
 * next inference takes the newest of them instead of one that is an inference old.
 */
import { Observable, from, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

export interface LatestWhileBusyOptions {
  defer?: (run: () => void) => void;
}

export function latestWhileBusy<T, R>(
  work: (value: T) => ObservableInput<R>,
  onDrop?: (value: T) => void,
  options: LatestWhileBusyOptions = {},
): OperatorFunction<T, R> {
  const defer = options.defer;
  return (source) =>
    new Observable<R>((subscriber) => {
      let busy = false;
      let waiting: { value: T } | null = null;
      let sourceDone = false;
      let inner: Subscription | null = null;
      let closed = false;

      const start = (value: T): void => {
        busy = true;
        inner = from(work(value)).subscribe({
          next: (r) => subscriber.next(r),
          error: (e) => subscriber.error(e),
          complete: () => {
            inner = null;
            if (defer) defer(next);
            else next();
          },
        });
      };

      // After work completes: the newest waiting value, or completion. Still busy until then, so a
      // value arriving in between replaces the waiting one (and is the one started).
      const next = (): void => {
        if (closed) return;
        busy = false;
        if (waiting) {
          const value = waiting.value;
          waiting = null;
          start(value);
        } else if (sourceDone) {
          subscriber.complete();
        }
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
        closed = true;
        outer.unsubscribe();
        inner?.unsubscribe();
        waiting = null;
      };
    });
}
