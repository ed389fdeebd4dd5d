/** `groundstream detect` as a user runs it: the built CLI, the bundled model, a fixture still. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { iou } from '../../src/domain/geometry.js';
import { FIXTURES, ROOT } from '../helpers/fixtures.js';
import { writeTinyOwlFolder } from '../model/tiny-owl.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const STILL = join(FIXTURES, 'stills', 'still01-640x360.jpg');
const truth = JSON.parse(readFileSync(join(FIXTURES, 'stills', 'still01-640x360.truth.json'), 'utf8')).frames[0].objects as { color: string; shape: string; box: [number, number, number, number] }[];
const dir = mkdtempSync(join(tmpdir(), 'gs-detect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('groundstream detect', () => {
  it('runs as an executable, the way npx and npm\'s bin links start it', async () => {
    // no `node` in front: the file needs its shebang and the executable bit the build gives it
    const { stdout } = await run(CLI, ['--version']);
    expect(stdout).toMatch(/^groundstream \d+\.\d+\.\d+/);
  });

  it('prints detections as JSON and draws them with --annotate', async () => {
    const out = join(dir, 'annotated.png');
    const { stdout, stderr } = await run(process.execPath, [CLI, 'detect', STILL, '-q', 'Blue Circle', '-q', 'purple cross', '--json', '--annotate', out]);
    expect(stderr).toBe(''); // --json keeps stderr quiet
    const report = JSON.parse(stdout);
    expect(report.queries).toEqual(['blue circle', 'purple cross']);
    const img = report.images[0];
    expect([img.width, img.height]).toEqual([640, 360]);
    const circle = truth.find((o) => o.color === 'blue' && o.shape === 'circle')!;
    const found = img.detections.find((d: { query: string; box: [number, number, number, number] }) => d.query === 'blue circle' && iou(d.box, circle.box) >= 0.5);
    expect(found).toBeDefined();

    // the box is drawn in the first query's colour (#00e676) along its left edge, where the
    // original has something else
    const [annotated, original] = await Promise.all([out, STILL].map((p) => sharp(p).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
    expect([annotated!.info.width, annotated!.info.height]).toEqual([640, 360]);
    const at = (b: Buffer, px: number, py: number) => [...b.subarray((py * 640 + px) * 3, (py * 640 + px) * 3 + 3)];
    const green = (p: number[]) => Math.abs(p[0]! - 0x00) + Math.abs(p[1]! - 0xe6) + Math.abs(p[2]! - 0x76);
    const y = Math.round((found.box[1] + found.box[3]) / 2);
    const x = [-1, 0, 1].map((dx) => Math.round(found.box[0]) + dx).sort((a, b) => green(at(annotated!.data, a, y)) - green(at(annotated!.data, b, y)))[0]!;
    expect(green(at(annotated!.data, x, y))).toBeLessThan(40);
    expect(green(at(original!.data, x, y))).toBeGreaterThan(100);
  });

  it('reports a missing image and a corrupt one with their codes, and goes on with the rest', async () => {
    const corrupt = join(dir, 'corrupt.jpg');
    await sharp(STILL).toFile(join(dir, 'ok.png'));
    await import('node:fs/promises').then((fs) => fs.writeFile(corrupt, readFileSync(STILL).subarray(0, 300)));
    // exit status 2 (bad input, as docs/errors.md says): some image failed; stdout still has the whole report
    const failed = await run(process.execPath, [CLI, 'detect', join(dir, 'nope.jpg'), corrupt, dir, join(dir, 'ok.png'), '-q', 'blue circle', '--json']).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed.code).toBe(2);
    const images = JSON.parse(failed.stdout).images;
    expect(images[0].error).toEqual({ code: 'IMAGE_INVALID', message: `invalid image: ${join(dir, 'nope.jpg')}: no such file` });
    expect(images[1].error.code).toBe('IMAGE_DECODE_FAILED');
    expect(images[2].error).toEqual({ code: 'IMAGE_INVALID', message: `invalid image: ${dir}: is a directory, not an image` });
    expect(images[3].detections.length).toBeGreaterThan(0);
  });

  it('refuses an --annotate name it cannot write up front, and reports a write failure for that image only', async () => {
    const bad = await run(process.execPath, [CLI, 'detect', STILL, '-q', 'blue circle', '--annotate', join(dir, 'out.txt')]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/CONFIG_INVALID.*--annotate/);
    // several images: --annotate is a folder; a file where it should be makes the folder impossible
    const blocker = join(dir, 'not-a-folder');
    await import('node:fs/promises').then((fs) => fs.writeFile(blocker, 'x'));
    const failed = await run(process.execPath, [CLI, 'detect', STILL, STILL, '-q', 'blue circle', '--json', '--annotate', join(blocker, 'sub')]).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed.code).toBe(1); // the work failed (the images were fine): 1, not 2
    const images = JSON.parse(failed.stdout).images as { detections: unknown[]; annotateError: { code: string; message: string } }[];
    // the image was read and detected: its detections stand beside the write failure
    expect(images.map((i) => i.annotateError.code)).toEqual(['OUTPUT_WRITE_FAILED', 'OUTPUT_WRITE_FAILED']);
    expect(images.every((i) => i.detections.length > 0)).toBe(true);
    expect(images[0]!.annotateError.message).not.toContain('\n'); // libvips's own lines left out
    // an image name with several images: refused, since it would be made a folder
    const named = await run(process.execPath, [CLI, 'detect', STILL, STILL, '-q', 'blue circle', '--annotate', join(dir, 'out.png')]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/^error CONFIG_INVALID: .*--annotate names a folder/m);
  });

  it('gives images of the same name from different folders an annotated file each', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const fs = await import('node:fs/promises');
    await Promise.all([a, b].map((d) => fs.mkdir(d, { recursive: true })));
    await fs.copyFile(STILL, join(a, 'x.jpg'));
    await sharp(STILL).resize(320, 180).toFile(join(b, 'x.jpg'));
    const out = join(dir, 'same-names');
    const { stdout } = await run(process.execPath, [CLI, 'detect', join(a, 'x.jpg'), join(b, 'x.jpg'), '-q', 'blue circle', '--json', '--annotate', out]);
    const images = JSON.parse(stdout).images as { annotated: string }[];
    expect(images.map((i) => i.annotated)).toEqual([join(out, 'x.annotated.png'), join(out, 'x-2.annotated.png')]);
    const sizes = await Promise.all(images.map((i) => sharp(i.annotated).metadata().then((m) => [m.width, m.height])));
    expect(sizes).toEqual([
      [640, 360],
      [320, 180],
    ]);
  });

  it('ends with the exit code its work decided when the reader of its output goes away', async () => {
    const { spawn } = await import('node:child_process');
    // stdout's reader closes before anything is written (what `| head -c 1` does, sooner)
    const closedOut = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.destroy();
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const ok = await closedOut(['detect', STILL, STILL, '-q', 'blue circle', '-q', 'star', '-t', '0', '--json']);
    expect(ok).toEqual({ code: 0, stderr: '' });
    const bad = await closedOut(['detect', join(dir, 'nope.jpg'), '-q', 'blue circle']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toMatch(/EPIPE|at /);
  });

  it('runs the model on a worker thread with --workers, gives the same answer, and exits on its own', async () => {
    const args = [CLI, 'detect', STILL, '-q', 'blue circle', '-q', 'star', '--json'];
    const here = JSON.parse((await run(process.execPath, args)).stdout);
    // an idle worker must not keep the process alive: execFile would never return
    const off = JSON.parse((await run(process.execPath, [...args, '--workers', '1'])).stdout);
    expect(off.images[0].detections.length).toBeGreaterThan(0);
    expect(off.images[0].detections).toEqual(here.images[0].detections);
    const bad = await run(process.execPath, [...args, '--workers', 'two']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error CONFIG_INVALID: option '--workers <n>' argument 'two' is invalid/m);
  });
});

describe('detect on a model folder with only another graph variant', () => {
  it('names the graphs it found and takes one with --variant; --provider falls back in order', async () => {
    const model = writeTinyOwlFolder(join(dir, 'only-quantized'), { graphName: 'model_quantized.onnx', patchLogits: [2, ...new Array<number>(15).fill(-10)] });
    const args = [CLI, 'detect', STILL, '-q', 'red circle', '--model', model];
    const refused = await run(process.execPath, args).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error MODEL_NOT_FOUND: .*onnx\/model\.onnx \(and no split graphs\); .* has model_quantized\.onnx: choose one with --variant model_quantized\.onnx/m);
    const { stdout, stderr } = await run(process.execPath, [...args, '--variant', 'model_quantized.onnx', '--provider', 'cuda', 'cpu', '--json']);
    const report = JSON.parse(stdout);
    expect(report.model.executionProviders).toHaveLength(1); // cuda where its libraries load, else cpu
    expect(report.images[0].detections).toEqual([{ query: 'red circle', score: expect.closeTo(0.881, 3), box: [0, 0, 160, 90] }]);
    expect(stderr).not.toMatch(/^error /m); // (onnxruntime itself logs the failed cuda attempt there)
  });
});

describe('groundstream --version', () => {
  it("prints the package's version and the protocol version", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const { stdout } = await run(process.execPath, [CLI, '--version']);
    expect(stdout.trim()).toBe(`groundstream ${version} (WebSocket protocol v1)`);
  });
});

describe('numeric flags', () => {
  it('refuses a value that is not a number, echoing what was typed, before doing anything', async () => {
    const fails = async (args: string[]) => {
      const e = (await run(process.execPath, [CLI, ...args]).then(
        () => undefined,
        (x: { code: number; stderr: string }) => x,
      ))!;
      expect(e?.code).toBe(2); // bad input (docs/errors.md)
      return e.stderr;
    };
    expect(await fails(['serve', '--port', 'abc'])).toMatch(/option '-p, --port <n>' argument 'abc' is invalid\. "abc" is not a whole number\./);
    expect(await fails(['serve', '--port', '8080x'])).toMatch(/"8080x" is not a whole number/);
    expect(await fails(['serve', '--inference-workers', 'two'])).toMatch(/"two" is not a whole number/);
    expect(await fails(['detect', STILL, '-q', 'circle', '--threshold', 'high'])).toMatch(/"high" is not a number/);
    expect(await fails(['detect', STILL, '-q', 'circle', '--threads', '1.5'])).toMatch(/"1\.5" is not a whole number/);
  });
});
