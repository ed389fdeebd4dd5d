/** `groundstream serve` as a user starts it: the built CLI, the bundled model, real ffmpeg, real sockets. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { availableProviders } from '../../src/model/onnx-session.js';
import { FIXTURES, ROOT } from '../helpers/fixtures.js';
import { TestClient } from '../helpers/ws-client.js';
import { writeTinyOwlFolder } from '../model/tiny-owl.js';

const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts the server; resolves with its base URL, what it has written so far, and a way to wait for
 * a line (pino writes its log asynchronously, so log lines may follow the "listening" line). */
function serve(args: string[], o: { demo?: boolean; cwd?: string } = {}): Promise<{ base: string; output: () => string; until: (re: RegExp) => Promise<string>; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...(o.demo ? [] : ['--no-demo']), ...args], {
    ...(o.cwd ? { cwd: o.cwd } : {}),
    env: { ...process.env, LOG_FORMAT: 'json', PORT: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const waiting: { re: RegExp; resolve: (line: string) => void }[] = [];
  const until = (re: RegExp) =>
    new Promise<string>((resolve) => {
      const m = re.exec(out);
      if (m) resolve(m[0]);
      else waiting.push({ re, resolve });
    });
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += String(d);
      for (const w of waiting.splice(0)) {
        const hit = w.re.exec(out);
        if (hit) w.resolve(hit[0]);
        else waiting.push(w);
      }
      const m = /groundstream listening on (http:\/\/[^\s"]+)/.exec(out);
      if (m) resolve({ base: m[1]!, output: () => out, until, child });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening:\n${out}`)));
  });
}

describe('groundstream serve', () => {
  it('refuses a LOG_FORMAT it does not know, as any other bad setting (exit code 2)', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--no-demo'], { env: { ...process.env, LOG_FORMAT: 'xml', PORT: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect([code, err]).toEqual([2, expect.stringMatching(/^error CONFIG_INVALID: .*LOG_FORMAT must be json or pretty, got "xml"/m)]);
  });

  it('with --concurrency 2 runs the model on two worker threads and serves two streams at once', async () => {
    const clip = (n: string) => join(FIXTURES, 'clips', n);
    const { base, output, until, child } = await serve([
      '--concurrency', '2',
      '--stream', `a=${clip('clip01-640x360.mp4')}#loop`,
      '--stream', `b=${clip('clip02-640x360-heldout.mp4')}#loop`,
    ]);
    expect(await until(/opened [^"]*detector\.onnx[^"]*/)).toMatch(/detector\.onnx on 2 worker threads: /);
    expect(await until(/opened [^"]*text_encoder\.onnx[^"]*/)).toMatch(/text_encoder\.onnx on 1 worker thread: /);
    const c = await TestClient.open(`${base.replace('http', 'ws')}/v1/ws`);
    c.send({ type: 'subscribe', id: 'a', stream: 'a', queries: ['circle', 'square', 'star'] });
    c.send({ type: 'subscribe', id: 'b', stream: 'b', queries: ['circle', 'square', 'star'] });
    const got = await Promise.all(['a', 'b'].map((s) => c.next((m) => m.type === 'detections' && m.subscription === s && m.detections.length > 0)));
    for (const m of got) {
      expect([m.frame.width, m.frame.height]).toEqual([640, 360]);
      expect(m.detections[0].box).toHaveLength(4);
    }
    const health = await (await fetch(`${base}/healthz`)).json();
    expect(health.status).toBe('ok');
    await c.close();
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', (c, sig) => r(c ?? sig)));
    expect(code, output().slice(-2000)).toBe(0);
  });

  it('serves the demo stream from any working directory, without showing where the server keeps its files', async () => {
    const { base, output, until, child } = await serve([], { demo: true, cwd: tmpdir() });
    let demo: { state?: string; source?: string } = {};
    while (demo.state !== 'live') {
      await new Promise((r) => setTimeout(r, 50));
      demo = ((await (await fetch(`${base}/v1/streams`)).json()) as { streams: { id: string }[] }).streams.find((s) => s.id === 'demo') ?? {};
      expect(demo.state, output().slice(-2000)).not.toBe('failed');
    }
    expect(demo.source).toBe('clips/clip03-640x360-crowded.mp4');
    expect(await until(/stream demo: live/)).toBeTruthy(); // operators see streams come and go in the log
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.once('exit', (c, sig) => r(c ?? sig))), output().slice(-2000)).toBe(0);
  });

  it("by default keeps the small bundled model on the event loop ('auto' keeps workers for big graphs)", async () => {
    const { output, until, child } = await serve([]);
    expect(await until(/opened [^"]*detector\.onnx[^"]*/)).toMatch(/detector\.onnx: inputs \(pixel_values/);
    expect(output()).not.toMatch(/worker thread/);
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.once('exit', (c, sig) => r(c ?? sig))), output().slice(-2000)).toBe(0);
  });

  it('takes --provider in order of preference, --variant, --threshold and --nms, as detect does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-serve-model-'));
    try {
      // a folder with only a quantized graph, and a provider this onnxruntime-node build lacks first
      const model = writeTinyOwlFolder(join(dir, 'tiny'), { graphName: 'model_quantized.onnx' });
      const missing = ['dml', 'coreml', 'openvino', 'xnnpack'].find((p) => !availableProviders().includes(p))!;
      const { base, output, until, child } = await serve(['--model', model, '--variant', 'quantized', '--provider', missing, 'cpu', '--threshold', '0.05', '--nms', 'off']);
      expect(await until(new RegExp(`runs on execution provider cpu, not ${missing}: [^"]*`))).toMatch(/not in this onnxruntime-node build/);
      expect(await until(/"model":\{[^}]*\}/)).toMatch(/"threshold":0\.05,"nmsIou":null,.*"executionProviders":\["cpu"\]/);
      // subscribers that give no threshold get the server's
      const c = await TestClient.open(`${base.replace('http', 'ws')}/v1/ws`);
      expect(c.messages.find((m) => m.type === 'hello').model.threshold).toBe(0.05);
      await c.close();
      child.kill('SIGTERM');
      expect(await new Promise((r) => child.once('exit', (c, sig) => r(c ?? sig))), output().slice(-2000)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses --provider with no usable provider, and an --nms that is not an IoU, as bad input (exit code 2)', async () => {
    for (const [args, message] of [
      [['--provider', 'cdua'], /^error PROVIDER_UNAVAILABLE: .*unknown execution provider "cdua"/m],
      [['--nms', '2'], /^error CONFIG_INVALID: .*nmsIou must be an IoU in \(0, 1\]/m],
      [['--nms', 'none'], /^error CONFIG_INVALID: .*"none" is not a number/m],
    ] as const) {
      const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--no-demo', ...args], { env: { ...process.env, LOG_FORMAT: 'json', PORT: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d) => (err += String(d)));
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect([code, err]).toEqual([2, expect.stringMatching(message)]);
    }
  });
});
