/**
 * A counting semaphore: how many inferences may run at once across all streams sharing one model.
 * Waiters are served first come, first served. Default concurrency in the server: 1 (on a 2-core
 * machine one inference already uses both cores through onnxruntime's intra-op threads). Runs
 * overlap only when the model runs on worker threads (config `inferenceWorkers`, which follows
 * concurrency by default): onnxruntime-node runs a session on the thread that calls it.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly concurrency: number) {
    if (!(concurrency >= 1 && Number.isInteger(concurrency))) throw new RangeError(`concurrency ${concurrency}`);
  }

  /** Resolves with a release function once a slot is free. Call it exactly once. */
  async acquire(): Promise<() => void> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  get busy(): number {
    return this.active;
  }
}
