/** What `npm pack` puts in the package: what the server, the CLI and the SDK read at run time, and
 * not the project's tests, benchmarks or training work. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEMO_STREAM } from '../src/cli/serve.js';
import { ROOT } from './helpers/fixtures.js';

const run = promisify(execFile);

describe('the packed package', () => {
  it('holds the built code, the bundled model, the demo clip and the docs, and no tests or benchmarks', async () => {
    // (--ignore-scripts: the build has run; a dry run lists what would go in)
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 16 << 20 });
    const files = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    const config = JSON.parse(readFileSync(`${ROOT}/models/shapes-owl/config.json`, 'utf8')) as { groundstream: { split: Record<string, string> } };
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { bin: Record<string, string>; exports: Record<string, string> };
    const needed = [
      ...Object.values(pkg.bin),
      ...Object.values(pkg.exports).flatMap((js) => [js.replace(/^\.\//, ''), js.replace(/^\.\//, '').replace(/\.js$/, '.d.ts')]),
      'dist/web/public/index.html',
      'dist/web/public/overlay.html',
      ...['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'].map((f) => `models/shapes-owl/${f}`),
      ...Object.values(config.groundstream.split).map((f) => `models/shapes-owl/${f}`),
      `fixtures/${DEMO_STREAM.source}`,
      `fixtures/${DEMO_STREAM.source.replace(/\.mp4$/, '.truth.json')}`,
      'README.md',
      'LICENSE',
      'docs/protocol.md',
    ];
    for (const f of needed) expect(files.has(f), f).toBe(true);
    const unwanted = [...files].filter((f) => /^(tests|bench|scratch|src|scripts|\.ci|fixtures\/robust|models\/shapes-owl\/(work|train))\//.test(f));
    expect(unwanted).toEqual([]);
  });
});
