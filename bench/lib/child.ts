/**
 * Runs a benchmark body in a fresh plain-Node process, bundled with esbuild: what production runs
 * (built code under node), without vite-node's module graph in the heap, whose garbage collections
 * would otherwise land on the measurement. The body gets `input` as JSON in BENCH_INPUT and prints
 * one JSON line last, which is returned.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './fixtures.js';

export async function runBundled<T>(entry: string, input: unknown, nodeArgs: string[] = []): Promise<T> {
  // Inside the repository so that the bundle's external packages resolve from node_modules.
  const outdir = join(ROOT, 'node_modules/.cache/groundstream-bench');
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, basename(entry).replace(/\.ts$/, '.mjs'));
  await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' });
  const stdout = execFileSync(process.execPath, [...nodeArgs, outfile], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_INPUT: JSON.stringify(input) },
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}
