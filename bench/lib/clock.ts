/**
 * Wall-clock milliseconds with sub-millisecond resolution. The synthetic source stamps frames with
 * it and the client fleet (another process) reads it on arrival; Date.now() would add up to 1 ms
 * of rounding to every latency. The two processes' offset is measured once (fleet.ts).
 */
export const clock = (): number => performance.timeOrigin + performance.now();
