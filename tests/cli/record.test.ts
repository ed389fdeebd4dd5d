/** `groundstream record` refused by the server: an error line with the code, exit code 2, no files. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/config.js';
import { BUNDLED_MODEL_DIR, loadModel } from '../../src/model/index.js';
import { GroundstreamServer } from '../../src/server/server.js';
import { ROOT } from '../helpers/fixtures.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

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
});
