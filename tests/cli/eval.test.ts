/** `groundstream eval` as a CI job runs it: the built CLI, the bundled model, real ffmpeg. */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT } from '../helpers/fixtures.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const CLIP = join(FIXTURES, 'clips', 'clip01-640x360.mp4');

/** Exit code, stdout and stderr of the CLI with `args`. */
async function cli(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], cwd ? { cwd } : {});
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('groundstream eval in CI', () => {
  it('gates on --min-map50 with its exit code, saying which way it went', async () => {
    const pass = await cli(['eval', CLIP, '--min-map50', '0.5']);
    expect([pass.code, pass.stdout]).toEqual([0, expect.stringMatching(/^pass: overall mAP50 0\.\d{3} >= 0\.5 \(--min-map50\)$/m)]);
    const fail = await cli(['eval', CLIP, '--min-map50', '0.999']);
    expect([fail.code, fail.stdout]).toEqual([1, expect.stringMatching(/^FAIL: overall mAP50 0\.\d{3} < 0\.999/m)]);
    const json = await cli(['eval', CLIP, '--json', '--min-map50', '0.999']);
    expect(json.code).toBe(1);
    const scores = JSON.parse(json.stdout) as { mAP50: number; gate: unknown };
    expect(scores.mAP50).toBeLessThan(0.999);
    expect(scores.gate).toEqual({ minMap50: 0.999, pass: false });
    const passed = JSON.parse((await cli(['eval', CLIP, '--json', '--min-map50', '0.5'])).stdout) as { gate: unknown };
    expect(passed.gate).toEqual({ minMap50: 0.5, pass: true });
    expect(JSON.parse((await cli(['eval', CLIP, '--json'])).stdout)).not.toHaveProperty('gate');
  });

  it('refuses bad input before scoring anything', async () => {
    const bad = await cli(['eval', CLIP, '--threshold', '1.5']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('error CONFIG_INVALID: invalid configuration: --threshold must be in [0, 1], got 1.5')]);
    // the second clip is not there: said as such, and nothing is scored for the first either
    const nope = join(FIXTURES, 'stills', 'still01-640x360.jpg.nope');
    const missing = await cli(['eval', CLIP, nope]);
    expect([missing.code, missing.stdout, missing.stderr]).toEqual([2, '', `error INGEST_SOURCE_INVALID: invalid source: ${nope}: no such file\n`]);
    // a clip that is there without its truth
    const still = join(FIXTURES, 'stills', 'still01-640x360.jpg');
    const untrue = await cli(['eval', CLIP, still, '--truth', join(FIXTURES, 'clips', 'clip01-640x360.truth.json'), '--truth', `${still}.nope.json`]);
    expect([untrue.code, untrue.stderr]).toEqual([2, expect.stringContaining('truth file not found')]);
    // the same clip twice would count its frames twice overall
    const twice = await cli(['eval', CLIP, CLIP]);
    expect([twice.code, twice.stderr]).toEqual([2, expect.stringContaining('is given twice')]);
    // a file that is no video: the reason once, not "could not be opened: could not be opened"
    const dir = mkdtempSync(join(tmpdir(), 'gs-eval-'));
    try {
      writeFileSync(join(dir, 'broken.mp4'), 'not a video');
      copyFileSync(CLIP.replace(/\.mp4$/, '.truth.json'), join(dir, 'broken.truth.json'));
      const broken = await cli(['eval', join(dir, 'broken.mp4')]);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toMatch(/^error INGEST_OPEN_FAILED: source could not be opened: /);
      expect(broken.stderr.match(/could not be opened/g)).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed truth file with CONFIG_INVALID and exit code 2 (not 1, the failed gate), naming the file and the fault', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-eval-'));
    try {
      const bad = join(dir, 'bad.truth.json');
      writeFileSync(bad, '{"width": 640, "height": 360, "frames": [');
      const json = await cli(['eval', CLIP, '--truth', bad, '--min-map50', '0.5']);
      expect([json.code, json.stdout]).toEqual([2, '']);
      expect(json.stderr).toMatch(new RegExp(`^error CONFIG_INVALID: invalid configuration: truth file ${bad}: not valid JSON: .*\\n$`));
      writeFileSync(bad, JSON.stringify({ width: 640, height: 360, fps: 30, frames: [{ index: 0, objects: [{ color: 'red', shape: 'circle' }] }] }));
      const nobox = await cli(['eval', CLIP, '--truth', bad]);
      expect([nobox.code, nobox.stderr]).toEqual([2, `error CONFIG_INVALID: invalid configuration: truth file ${bad}: frames[0].objects[0].box must be [x1, y1, x2, y2] (4 numbers), got undefined\n`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses one clip under two spellings, and a clip swallowed by --queries', async () => {
    // `clip01.mp4` and `./clip01.mp4` are one clip: its frames would count twice overall
    const twice = await cli(['eval', 'clip01-640x360.mp4', './clip01-640x360.mp4'], join(FIXTURES, 'clips'));
    expect([twice.code, twice.stderr]).toEqual([2, 'error CONFIG_INVALID: invalid configuration: clip "clip01-640x360.mp4" is given twice (also as "./clip01-640x360.mp4")\n']);
    // --queries takes every word up to the next flag: the clip would become a query
    const swallowed = await cli(['eval', '--queries', 'star', CLIP]);
    expect([swallowed.code, swallowed.stderr]).toEqual([2, expect.stringContaining(`--queries took ${JSON.stringify(CLIP)}, a file: give queries with -q (repeatable)`)]);
  });
});
