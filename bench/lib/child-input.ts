/** The input a body run by runBundled (child.ts) was given. Kept apart from child.ts so that a
 * bundled body does not pull in esbuild. */
export function benchInput<T>(): T {
  return JSON.parse(process.env.BENCH_INPUT ?? '{}') as T;
}
