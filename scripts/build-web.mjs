#!/usr/bin/env node
/**
 * Builds the overlay and viewer pages (src/web) into dist/web/public: the HTML as is, the CSS
 * copied to assets/, each page's TypeScript bundled with the client SDK by esbuild into one
 * self-contained script (no CDN: the pages work offline). src/server/web.ts serves that folder.
 *
 *   node scripts/build-web.mjs [outdir]      (npm run build:web)
 *
 * tsc also compiles src/web into dist/web/*.js for type checking; those files are not served.
 */
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src', 'web');
export const DEFAULT_OUTDIR = join(ROOT, 'dist', 'web', 'public');
/** Page entry points: src/web/<name>.ts becomes assets/<name>.js. */
const ENTRIES = ['viewer', 'overlay'];

/** Builds the pages into `outdir` (emptied first); resolves with the files written. */
export async function buildWeb({ outdir = DEFAULT_OUTDIR, minify = true } = {}) {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(join(outdir, 'assets'), { recursive: true });
  const result = await build({
    entryPoints: Object.fromEntries(ENTRIES.map((e) => [e, join(SRC, `${e}.ts`)])),
    outdir: join(outdir, 'assets'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // OBS's browser source is Chromium (CEF) 103 or later
    target: ['chrome103', 'firefox110', 'safari16'],
    minify,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  for (const f of await readdir(SRC)) {
    if (f.endsWith('.html')) await copyFile(join(SRC, f), join(outdir, f));
    else if (f.endsWith('.css')) await copyFile(join(SRC, f), join(outdir, 'assets', f));
  }
  return { outdir, outputs: Object.keys(result.metafile.outputs) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outdir, outputs } = await buildWeb({ outdir: process.argv[2] ?? DEFAULT_OUTDIR });
  process.stderr.write(`web pages built into ${outdir} (${outputs.length} bundle files)\n`);
}
