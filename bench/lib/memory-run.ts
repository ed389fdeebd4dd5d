/**
 * The memory benchmark's measurement, shared by its bodies (memory-child.ts, memory-bare-child.ts):
 * `warmup` calls, a full collection, then `calls` calls with a memory sample every `every`, and a
 * last sample after another full collection, so that both ends count live memory only.
 */
import v8 from 'node:v8';

export interface MemorySample {
  call: number;
  rss: number;
  heapUsed: number;
  /** V8's committed heap, and of it the young generation. */
  heapTotal: number;
  newSpace: number;
  external: number;
  arrayBuffers: number;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** A full collection, then a moment for V8 to release the array buffers it found dead (it frees
 * their memory on a background task), then another: what is left is live. */
async function fullGc(): Promise<void> {
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
}

function sample(call: number): MemorySample {
  const m = process.memoryUsage();
  const young = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0;
  return { call, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, newSpace: young, external: m.external, arrayBuffers: m.arrayBuffers };
}

export async function measureMemory(
  o: { calls: number; warmup: number; every: number },
  call: (i: number) => Promise<unknown>,
): Promise<{ msPerCall: number; samples: MemorySample[]; afterGc: MemorySample }> {
  for (let i = 0; i < o.warmup; i++) await call(i);
  await fullGc();
  const samples = [sample(0)];
  const t0 = performance.now();
  for (let i = 1; i <= o.calls; i++) {
    await call(o.warmup + i);
    if (i % o.every === 0) samples.push(sample(i));
  }
  const msPerCall = (performance.now() - t0) / o.calls;
  await fullGc(); // like the baseline: after a full collection
  return { msPerCall, samples, afterGc: sample(o.calls) };
}
