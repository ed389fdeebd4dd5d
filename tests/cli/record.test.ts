/** `groundstream record` refused by the server: an error line with the code, exit code 2, no files. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/config.js';
import { BUNDLED_MODEL_DIR, loadModel } from '../../src/model/index.js';
import { GroundstreamServer } from '../../src/server/server.js';
import { FIXTURES, ROOT } from '../helpers/fixtures.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
/** Exit code and stderr of the CLI with `args`. */
const cli = (args: string[]) =>
  run(process.execPath, [CLI, ...args]).then(
    () => ({ code: 0, stderr: '' }),
    (x: { code: number; stderr: string }) => ({ code: x.code, stderr: x.stderr }),
  );

describe('groundstream record', () => {
  it('reports a subscription the server refuses as an error with its code (exit 2), writing nothing', async () => {
    const model = await loadModel(BUNDLED_MODEL_DIR);
    const server = new GroundstreamServer({ config: resolveConfig({ port: 0 }), model });
    const dir = mkdtempSync(join(tmpdir(), 'gs-record-cli-'));
    try {
      const url = `${(await server.listen()).replace('http', 'ws')}/v1/ws`;
      const e = await run(process.execPath, [CLI, 'record', '--url', url, '--stream', 'nosuch', '-q', 'star', '--out', dir]).then(
        () => ({ code: 0, stderr: '' }),
        (x: { code: number; stderr: string }) => x,
      );
      expect(e.code).toBe(2);
      expect(e.stderr).toMatch(/^error PROTOCOL_STREAM_UNKNOWN: no such stream: "nosuch"$/m);
      expect(e.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(readdirSync(dir)).toEqual([]);
      // a threshold out of range is said before connecting, as detect and eval say it
      const t = await run(process.execPath, [CLI, 'record', '--url', url, '--stream', 'nosuch', '-q', 'star', '-t', '2', '--out', dir]).then(
        () => ({ code: 0, stderr: '' }),
        (x: { code: number; stderr: string }) => x,
      );
      expect([t.code, t.stderr]).toEqual([2, 'error CONFIG_INVALID: invalid configuration: --threshold must be in [0, 1], got 2\n']);
    } finally {
      await server.close();
      await model.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an --out that is a file and a --name with a path in it: an error with its code (exit 2), no stack, nothing written', async () => {
    const model = await loadModel(BUNDLED_MODEL_DIR);
    const clip = join(FIXTURES, 'clips', 'clip01-640x360.mp4');
    const server = new GroundstreamServer({ config: resolveConfig({ port: 0, streams: [{ id: 'clip', source: clip, realtime: true, loop: true }] }), model, fileRoots: [FIXTURES] });
    const dir = mkdtempSync(join(tmpdir(), 'gs-record-cli-'));
    try {
      const url = `${(await server.listen()).replace('http', 'ws')}/v1/ws`;
      const file = join(dir, 'a-file');
      writeFileSync(file, 'x');
      for (const out of [file, join(file, 'sub')]) {
        const e = await cli(['record', '--url', url, '--stream', 'clip', '-q', 'star', '--seconds', '1', '--out', out]);
        expect([e.code, e.stderr]).toEqual([2, `error RECORD_WRITE_FAILED: recording cannot be written: ${out} is not a directory (a file is in the way)\n`]);
      }
      const escape = await cli(['record', '--url', url, '--stream', 'clip', '-q', 'star', '--seconds', '1', '--out', join(dir, 'in'), '--name', '../../escape']);
      expect([escape.code, escape.stderr]).toEqual([2, expect.stringMatching(/^error CONFIG_INVALID: .*a recording name must be a plain file name .*"\.\.\/\.\.\/escape"\n$/)]);
      expect(readdirSync(dir)).toEqual(['a-file']);
    } finally {
      await server.close();
      await model.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
