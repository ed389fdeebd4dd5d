/**
 * Integration tests of the ffmpeg source with a real ffmpeg binary, run once per binary (the one
 * resolved on this machine, and the bundled 4.1 build). Clips are made at test time with testsrc.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isGroundstreamError } from '../../src/errors.js';
import { openFfmpegSource, type FfmpegBinary, type FfmpegSource, type OpenSourceOptions, type SourceSpec, type SourceState } from '../../src/ingest/index.js';
import { frameSourceContract } from './frame-source.contract.js';
import { leftoverChildren, makeClip, record, referenceFrames, sleep, tempDir, untilCount, waitForState } from './helpers.js';
import { startServer, type TestServer } from './http-server.js';
import { startCamera, type TestCamera } from './rtsp-server.js';

/** Whether `states` contains `wanted` in this order (not necessarily adjacent). */
function inOrder(states: readonly SourceState[], wanted: readonly SourceState[]): boolean {
  let i = 0;
  for (const s of states) if (s === wanted[i]) i += 1;
  return i === wanted.length;
}

/** Real clips, when the repository has them (fixtures/clips/*.mp4 with a .truth.json each). */
const FIXTURES = resolve('fixtures/clips');
const fixtureClips = existsSync(FIXTURES)
  ? readdirSync(FIXTURES).filter((f) => f.endsWith('.mp4') && existsSync(join(FIXTURES, f.replace(/\.mp4$/, '.truth.json'))))
  : [];

export function ffmpegSourceSuite(binary: FfmpegBinary): void {
  const { dir, cleanup } = tempDir();
  const sources: FfmpegSource[] = [];
  const servers: TestServer[] = [];
  const cameras: TestCamera[] = [];
  let clip: string; // 2 s, 320x240, 30 fps: 60 frames
  let ts: Buffer; // 20 s, 160x120, 30 fps, MPEG-TS

  beforeAll(() => {
    clip = makeClip(binary.path, dir, 'clip.mp4', { width: 320, height: 240, seconds: 2 });
    ts = readFileSync(makeClip(binary.path, dir, 'live.ts', { width: 160, height: 120, seconds: 20, container: 'ts' }));
  });
  afterAll(cleanup);
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
    await Promise.all(servers.splice(0).map((s) => s.kill().catch(() => undefined)));
    await Promise.all(cameras.splice(0).map((c) => c.close()));
    expect(leftoverChildren()).toEqual([]);
  });

  /** `file` opened twice (at its own size, and to fit 100x100 keeping its aspect ratio), each live with one frame. */
  async function firstFrameAtTwoSizes(file: string): Promise<[FfmpegSource, FfmpegSource]> {
    const native = await open(file, { pacing: 'fast', policy: 'wait' });
    const inside = await open(file, { pacing: 'fast', policy: 'wait', size: { width: 100, height: 100, fit: 'inside' } });
    for (const s of [native, inside]) {
      s.start();
      s.request(1);
    }
    await Promise.all([waitForState(native, 'live'), waitForState(inside, 'live')]);
    return [native, inside];
  }

  async function open(source: string | SourceSpec, options: Partial<OpenSourceOptions> = {}): Promise<FfmpegSource> {
    const s = await openFfmpegSource(source, { streamId: 'cam', ffmpegPath: binary.path, access: { fileRoots: [dir] }, ...options });
    sources.push(s);
    return s;
  }

  async function serve(routes: Parameters<typeof startServer>[0]): Promise<TestServer> {
    const server = await startServer(routes);
    servers.push(server);
    return server;
  }

  frameSourceContract(`FfmpegSource (${binary.origin})`, async (policy) => ({
    source: await open('clip.mp4', { policy, size: { width: 64, height: 48 } }),
    produce: async () => undefined, // the clip has 60 frames
  }));

  describe(`FfmpegSource with ${binary.origin} ffmpeg`, () => {
    it('at full speed, yields every frame with exact pts, scaled by ffmpeg exactly as ffmpeg alone does', async () => {
      const source = await open('clip.mp4', { pacing: 'fast', size: { width: 64, height: 48 } });
      const rec = record(source);
      source.start();
      await rec.framesDone;
      expect(source.status).toMatchObject({ state: 'ended', fps: 30, width: 64, height: 48, sourceWidth: 320, sourceHeight: 240 });
      expect(source.status.error).toBeUndefined();
      expect(rec.frames).toHaveLength(60);
      const reference = referenceFrames(binary.path, clip, 64, 48);
      rec.frames.forEach((f, i) => {
        expect(f).toMatchObject({ seq: i, pts: i / 30, width: 64, height: 48, sourceWidth: 320, sourceHeight: 240 });
        expect(Buffer.from(f.data).equals(reference.subarray(i * 64 * 48 * 3, (i + 1) * 64 * 48 * 3))).toBe(true);
      });
      expect(rec.statuses.map((s) => s.state)).toEqual(['connecting', 'live', 'ended']);
    });

    it('at native rate, never emits a frame before its pts', async () => {
      const source = await open('clip.mp4', { size: { width: 32, height: 24 } });
      const rec = record(source);
      source.start();
      await rec.framesDone;
      expect(rec.frames).toHaveLength(60);
      const t0 = rec.frames[0]!.capturedAt;
      // Date.now() is whole ms: allow 1 ms of rounding either side.
      for (const f of rec.frames) expect(f.capturedAt - t0).toBeGreaterThanOrEqual(f.pts * 1000 - 2);
      const span = (rec.frames.at(-1)!.capturedAt - t0) / 1000;
      expect(span).toBeGreaterThanOrEqual(rec.frames.at(-1)!.pts - 0.002);
    });

    it('at native rate, goes on at that rate after ffmpeg was held up, instead of racing through the frames it is late for', async () => {
      // frames bigger than the pipe's buffer: ffmpeg is at most a frame ahead, so stopping it stops the frames
      const source = await open('clip.mp4', { loop: true, size: { width: 320, height: 240 } });
      const rec = record(source);
      source.start();
      await untilCount(source.frames$, rec.frames, 10);
      const ffmpeg = leftoverChildren().filter((c) => c.comm.includes('ffmpeg'));
      expect(ffmpeg).toHaveLength(1);
      process.kill(ffmpeg[0]!.pid, 'SIGSTOP');
      await sleep(1500); // 45 frames' worth
      const before = rec.frames.length;
      process.kill(ffmpeg[0]!.pid, 'SIGCONT');
      await sleep(1000);
      const after = rec.frames.length - before;
      // at 30 fps, about 30 in that second (the late ones are not released at once: 45 more)
      expect(after).toBeLessThan(45);
      expect(after).toBeGreaterThan(5);
      await source.stop();
    });

    it('loops a file with seq and pts still counting up, and waits for the consumer without skipping', async () => {
      const source = await open('clip.mp4', { pacing: 'fast', loop: true, policy: 'wait', size: { width: 32, height: 24 } });
      const rec = record(source);
      source.start();
      source.request(150);
      await untilCount(source.frames$, rec.frames, 150);
      await sleep(100);
      expect(rec.frames).toHaveLength(150);
      rec.frames.forEach((f, i) => expect(f).toMatchObject({ seq: i, pts: i / 30 }));
      expect(Buffer.from(rec.frames[60]!.data).equals(rec.frames[0]!.data)).toBe(true);
      expect(Buffer.from(rec.frames[125]!.data).equals(rec.frames[5]!.data)).toBe(true);
      expect(source.status.state).toBe('live');
      await source.stop();
      expect(source.status).toMatchObject({ state: 'ended', detail: 'stopped' });
    });

    it('keeps the source size unless told otherwise, and fits inside a box keeping the aspect ratio', async () => {
      const [native, inside] = await firstFrameAtTwoSizes('clip.mp4');
      expect(native.latest).toMatchObject({ width: 320, height: 240, sourceWidth: 320, sourceHeight: 240 });
      expect(inside.latest).toMatchObject({ width: 100, height: 75, sourceWidth: 320, sourceHeight: 240 });
    });

    it('reports the upright size of a clip with a display rotation (as phones record), which ffmpeg turns upright', async () => {
      // the clip stored landscape (320x240) and tagged "rotate 90": it plays as 240x320
      execFileSync(binary.path, ['-nostdin', '-loglevel', 'error', '-y', '-i', clip, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', join(dir, 'rotated.mp4')]);
      const [native, inside] = await firstFrameAtTwoSizes('rotated.mp4');
      expect(native.latest).toMatchObject({ width: 240, height: 320, sourceWidth: 240, sourceHeight: 320 });
      expect(inside.latest).toMatchObject({ width: 75, height: 100, sourceWidth: 240, sourceHeight: 320 });
    });

    it.skipIf(fixtureClips.length === 0)('decodes every fixture clip to the working size with exact counts and pts', async () => {
      for (const name of fixtureClips) {
        const truth = JSON.parse(readFileSync(join(FIXTURES, name.replace(/\.mp4$/, '.truth.json')), 'utf8')) as {
          width: number;
          height: number;
          fps: number;
          frames: unknown[];
        };
        const source = await openFfmpegSource(name, {
          streamId: name,
          ffmpegPath: binary.path,
          pacing: 'fast',
          size: { width: 224, height: 224 },
          access: { fileRoots: [FIXTURES] },
        });
        sources.push(source);
        const rec = record(source);
        source.start();
        await rec.framesDone;
        expect(source.status.state, name).toBe('ended');
        expect(rec.frames, name).toHaveLength(truth.frames.length);
        rec.frames.forEach((f, i) =>
          expect(f).toMatchObject({ seq: i, pts: i / truth.fps, width: 224, height: 224, sourceWidth: truth.width, sourceHeight: truth.height }),
        );
      }
    });

    it('ends a corrupt file as failed, with ffmpeg\'s reason', async () => {
      writeFileSync(join(dir, 'corrupt.mp4'), Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 256)));
      const source = await open('corrupt.mp4');
      const rec = record(source);
      source.start();
      await rec.framesDone;
      expect(rec.frames).toHaveLength(0);
      expect(source.status.state).toBe('failed');
      expect(source.status.error?.code).toBe('INGEST_OPEN_FAILED');
      expect(source.status.detail).toMatch(/Invalid data found|moov atom not found/);
    });

    it('delivers the frames ffmpeg wrote before it exited with an error, then ends as failed', async () => {
      // ffmpeg decodes the whole clip, then the process exits 3 (as after a late decode error);
      // fluent-ffmpeg's own capability probes (no pipe:1 output) get ffmpeg's real status
      const wrapper = join(dir, 'ffmpeg-then-3.sh');
      const done = join(dir, 'ffmpeg-then-3.done');
      const script = `#!/bin/sh\n"${binary.path}" "$@"\nst=$?\nfor a in "$@"; do [ "$a" = "pipe:1" ] && { touch "${done}"; exit 3; }; done\nexit $st\n`;
      writeFileSync(wrapper, script, { mode: 0o755 });
      // 60 frames of 8x6 fit in the pipe, so ffmpeg exits while most of them wait there for demand
      const source = await open('clip.mp4', { ffmpegPath: wrapper, pacing: 'fast', policy: 'wait', size: { width: 8, height: 6 } });
      const rec = record(source);
      source.start();
      source.request(1);
      await untilCount(source.frames$, rec.frames, 1);
      while (!existsSync(done)) await sleep(20); // ffmpeg has finished, the frames wait in the pipe
      await sleep(100); // and the wrapper's exit has been seen
      source.request(1000);
      await rec.framesDone;
      expect(rec.frames).toHaveLength(60);
      expect(source.status.state).toBe('failed');
    });

    it('fails clearly when the ffmpeg binary is missing', async () => {
      const source = await open('clip.mp4', { ffmpegPath: join(dir, 'no-ffmpeg') });
      source.start();
      const status = await waitForState(source, 'failed');
      expect(status.error?.code).toBe('INGEST_OPEN_FAILED');
      expect(status.detail).toMatch(/ffmpeg not found.*no-ffmpeg/);
    });

    it('stops mid-stream and right after start, leaving no process behind', async () => {
      const running = await open('clip.mp4', { size: { width: 32, height: 24 } });
      running.start();
      await waitForState(running, 'live');
      await running.stop();
      expect(running.status).toMatchObject({ state: 'ended', detail: 'stopped' });
      for (let i = 0; i < 3; i++) {
        const early = await open('clip.mp4');
        early.start();
        await early.stop(); // before fluent-ffmpeg has even spawned the process
        expect(early.status.state).toBe('ended');
      }
    });

    it('refuses disallowed protocols and paths before starting anything', async () => {
      for (const [uri, code] of [
        ['ftp://127.0.0.1/clip.mp4', 'INGEST_PROTOCOL_REFUSED'],
        ['concat:clip.mp4|clip.mp4', 'INGEST_PROTOCOL_REFUSED'],
        ['file:../../etc/passwd', 'INGEST_PATH_REFUSED'],
        ['/etc/hostname', 'INGEST_PATH_REFUSED'],
      ] as const) {
        const err = await open(uri).catch((e: unknown) => e);
        expect(isGroundstreamError(err, code), `${uri}: ${String(err)}`).toBe(true);
      }
    });
  });

  describe(`network sources with ${binary.origin} ffmpeg`, () => {
    it('reconnects when the HTTP server dies mid-stream: live, reconnecting, live again', async () => {
      const rate = ts.length / 20;
      const server = await serve({ '/live.ts': { body: ts, pace: { bytesPerSecond: rate, burstBytes: rate * 6 } } });
      const source = await open(server.url('/live.ts'), { size: { width: 32, height: 24 }, backoff: { initialMs: 100, maxMs: 400 } });
      const rec = record(source);
      source.start();
      await waitForState(source, 'live');
      await untilCount(source.frames$, rec.frames, 5);
      await server.kill();
      await waitForState(source, 'reconnecting');
      // While the server is down, tries fail with ffmpeg's reason in the status.
      await waitForState(source, 'reconnecting', (s) => /refused/i.test(s.detail ?? ''));
      const before = rec.frames.length;
      await server.restart();
      await waitForState(source, 'live');
      await untilCount(source.frames$, rec.frames, before + 5);
      await source.stop();
      const states = rec.statuses.map((s) => s.state);
      expect(inOrder(states, ['connecting', 'live', 'reconnecting', 'live', 'ended'])).toBe(true);
      const refused = rec.statuses.find((s) => /refused/i.test(s.detail ?? ''));
      expect(refused?.error?.code).toBe('INGEST_OPEN_FAILED');
      expect(refused?.retryInMs).toBeLessThanOrEqual(400);
      rec.frames.forEach((f, i) => expect(f.seq).toBe(i));
      for (let i = 1; i < rec.frames.length; i++) expect(rec.frames[i]!.pts).toBeGreaterThanOrEqual(rec.frames[i - 1]!.pts);
    });

    it('on demand: closes a live input while inactive (idle, no ffmpeg, the server no longer read) and opens it again when active', async () => {
      const rate = ts.length / 20;
      const server = await serve({ '/live.ts': { body: ts, pace: { bytesPerSecond: rate, burstBytes: rate * 6 } } });
      const source = await open(server.url('/live.ts'), { size: { width: 32, height: 24 }, backoff: { initialMs: 50, maxMs: 50 } });
      const rec = record(source);
      source.setActive(false); // before start: it begins idle, opening nothing
      source.start();
      await waitForState(source, 'idle');
      await sleep(300);
      expect(server.hits).toBe(0);
      expect(leftoverChildren().filter((c) => c.comm.includes('ffmpeg'))).toEqual([]);
      source.setActive(true);
      await untilCount(source.frames$, rec.frames, 5);
      expect(server.hits).toBe(1);
      source.setActive(false);
      await waitForState(source, 'idle');
      while (leftoverChildren().some((c) => c.comm.includes('ffmpeg'))) await sleep(20); // (killed: gone in a moment)
      const held = rec.frames.length;
      await sleep(300);
      expect(rec.frames.length).toBe(held);
      source.setActive(true);
      await untilCount(source.frames$, rec.frames, held + 5);
      expect(server.hits).toBe(2);
      // closed and opened again at once (the last subscriber left as a new one came): it reopens
      const before = rec.frames.length;
      source.setActive(false);
      source.setActive(true);
      await untilCount(source.frames$, rec.frames, before + 5);
      expect(server.hits).toBe(3);
      await source.stop();
      const states = rec.statuses.map((s) => s.state);
      expect(inOrder(states, ['idle', 'connecting', 'live', 'idle', 'connecting', 'live', 'ended'])).toBe(true);
      expect(states).not.toContain('reconnecting'); // closing for want of watchers is no trouble
      rec.frames.forEach((f, i) => expect(f.seq).toBe(i));
    });

    it('on demand: an input that failed while watched says so while idle', async () => {
      const server = await serve({});
      const source = await open(server.url('/no-such-camera.ts'), { backoff: { initialMs: 50, maxMs: 50 } });
      source.start();
      await waitForState(source, 'reconnecting', (s) => s.error?.code === 'INGEST_OPEN_FAILED');
      source.setActive(false);
      const idle = await waitForState(source, 'idle');
      expect(idle.detail).toMatch(/^nobody is watching: .*; when last open: INGEST_OPEN_FAILED: .*404/);
      await source.stop();
    });

    it('reads a live RTSP camera, and comes back when the camera restarts: live, reconnecting, live again', async () => {
      const camera = await startCamera(binary.path, join(dir, 'live.ts'));
      cameras.push(camera);
      // The relay takes RTP over UDP only; our default is TCP (interleaved), the usual choice through NAT.
      const source = await open(
        { kind: 'url', url: camera.url, rtspTransport: 'udp' },
        { size: { width: 32, height: 24 }, stallTimeoutMs: 4000, backoff: { initialMs: 100, maxMs: 400 } },
      );
      const rec = record(source);
      source.start(); // the first tries may come before the camera has published: they are retried
      await waitForState(source, 'live');
      await untilCount(source.frames$, rec.frames, 10);
      expect(rec.frames[0]).toMatchObject({ width: 32, height: 24, sourceWidth: 160, sourceHeight: 120 });

      await camera.stop(); // the camera goes away: its stream is torn down
      await waitForState(source, 'reconnecting');
      const before = rec.frames.length;
      camera.start();
      await waitForState(source, 'live');
      await untilCount(source.frames$, rec.frames, before + 10);
      await source.stop();
      const states = rec.statuses.map((s) => s.state);
      expect(inOrder(states, ['connecting', 'live', 'reconnecting', 'live', 'ended'])).toBe(true);
      rec.frames.forEach((f, i) => expect(f.seq).toBe(i));
      // testsrc draws a moving picture: the frames are real video, not one repeated image
      expect(new Set(rec.frames.map((f) => Buffer.from(f.data).toString('base64'))).size).toBeGreaterThan(5);
    });

    it('gives up as failed after maxAttempts failed tries in a row, with the reason from ffmpeg', async () => {
      const server = await serve({});
      const source = await open(server.url('/missing.ts'), { backoff: { initialMs: 50, maxMs: 100, maxAttempts: 2 } });
      const rec = record(source);
      source.start();
      const failed = await waitForState(source, 'failed');
      expect(failed).toMatchObject({ attempt: 3, error: { code: 'INGEST_OPEN_FAILED' } });
      expect(failed.detail).toMatch(/404/);
      expect(rec.statuses.map((s) => s.state)).toEqual(['connecting', 'reconnecting', 'reconnecting', 'failed']);
      expect(server.hits).toBe(3);
    });

    it('gives the frames of a live MPEG-TS stream over HTTP from its first 2 s (ffmpeg by itself would probe 5 s of it before the first)', async () => {
      const rate = ts.length / 20;
      // 2 s of the stream, then nothing more (the connection held open): every frame has to come
      // out of those 2 s; with ffmpeg's default analyzeduration (5 s) none would
      const two = Math.floor((rate * 2) / 188) * 188;
      const server = await serve({ '/short.ts': { body: ts, pace: { bytesPerSecond: 0, burstBytes: two } } });
      const source = await open(server.url('/short.ts'), { size: { width: 32, height: 24 }, stallTimeoutMs: 600_000 });
      const rec = record(source);
      source.start();
      await untilCount(source.frames$, rec.frames, 30);
      expect(rec.statuses.map((s) => s.state)).not.toContain('reconnecting');
      await source.stop();
    });

    it('restarts a live source that stalls', async () => {
      const rate = ts.length / 20;
      const server = await serve({ '/stall.ts': { body: ts, pace: { bytesPerSecond: 0, burstBytes: rate * 8 } } });
      const source = await open(server.url('/stall.ts'), { size: { width: 32, height: 24 }, stallTimeoutMs: 1000, backoff: { initialMs: 100 } });
      const rec = record(source);
      source.start();
      await waitForState(source, 'stalled');
      const reconnecting = await waitForState(source, 'reconnecting');
      expect(reconnecting.error?.code).toBe('INGEST_STALLED');
      expect(inOrder(rec.statuses.map((s) => s.state), ['connecting', 'stalled', 'reconnecting'])).toBe(true);
    });

    it('reads a URL that names its host (as camera URLs do), with the name as the Host header', async () => {
      const seg = readFileSync(makeClip(binary.path, dir, 'named.ts', { width: 160, height: 120, seconds: 1, container: 'ts' }));
      const server = await serve({ '/named.ts': { body: seg } });
      const source = await openFfmpegSource(
        { kind: 'url', url: `http://localhost:${server.port}/named.ts`, live: false },
        { streamId: 'named', ffmpegPath: binary.path, pacing: 'fast', size: { width: 32, height: 24 } },
      );
      sources.push(source);
      const rec = record(source);
      source.start();
      await rec.framesDone;
      expect(source.status).toMatchObject({ state: 'ended' });
      expect(rec.frames).toHaveLength(30);
      expect(server.hosts).toEqual([`localhost:${server.port}`]);
    });

    it('when told to look names up itself, hands ffmpeg the address (the next one on each retry) and the name as Host', async () => {
      const seg = readFileSync(makeClip(binary.path, dir, 'pinned.ts', { width: 160, height: 120, seconds: 1, container: 'ts' }));
      const server = await serve({ '/pinned.ts': { body: seg } });
      const asked: string[] = [];
      // the first address is one where nothing listens: the retry must take the second
      const lookup = async (host: string) => {
        asked.push(host);
        return [
          { address: '127.0.0.2', family: 4 },
          { address: '127.0.0.1', family: 4 },
        ];
      };
      const source = await openFfmpegSource(
        { kind: 'url', url: `http://camera.test:${server.port}/pinned.ts`, live: true },
        { streamId: 'pinned', ffmpegPath: binary.path, resolveHosts: true, lookup, size: { width: 32, height: 24 }, backoff: { initialMs: 50, maxMs: 50 } },
      );
      sources.push(source);
      const rec = record(source);
      source.start();
      await untilCount(source.frames$, rec.frames, 10);
      expect(asked.slice(0, 2)).toEqual(['camera.test', 'camera.test']);
      expect(rec.statuses.find((s) => s.state === 'reconnecting')?.error?.code).toBe('INGEST_OPEN_FAILED');
      expect(server.hosts[0]).toBe(`camera.test:${server.port}`);
    });

    it('stops at once while a name is being looked up, starting nothing', async () => {
      let asked = 0;
      const source = await openFfmpegSource('http://camera.test/live.ts', {
        streamId: 'lookup',
        ffmpegPath: binary.path,
        resolveHosts: true,
        lookup: () => (asked++, new Promise(() => {})), // never answers
      });
      sources.push(source);
      source.start();
      while (asked === 0) await sleep(5);
      await source.stop();
      expect(source.status.state).toBe('ended');
      expect(leftoverChildren()).toEqual([]);
    });

    it('refuses a host name that points into a denied network, for good: no ffmpeg, no retry, the server never asked', async () => {
      const server = await serve({ '/live.ts': { body: ts } });
      // the real lookup of `localhost`, with loopback denied as an operator may do
      const source = await open(`http://localhost:${server.port}/live.ts`, {
        access: { deniedNetworks: ['127.0.0.0/8', '::1/128'] },
        backoff: { initialMs: 20, maxMs: 20 },
      });
      const rec = record(source);
      source.start();
      const failed = await waitForState(source, 'failed');
      expect(failed.error?.code).toBe('INGEST_DESTINATION_REFUSED');
      expect(failed.detail).toMatch(/localhost resolves to it/);
      expect(rec.statuses.map((s) => s.state)).not.toContain('reconnecting');
      expect(server.hits).toBe(0);
      expect(leftoverChildren()).toEqual([]);
      // the default list leaves loopback alone: the same URL plays
      const allowed = await open(`http://localhost:${server.port}/live.ts`, { size: { width: 32, height: 24 } });
      const frames = record(allowed).frames;
      allowed.start();
      await untilCount(allowed.frames$, frames, 3);
      expect(server.hits).toBeGreaterThan(0);
    });

    it('checks the addresses a name has at each reconnect, not only the first time', async () => {
      const server = await serve({ '/clip.ts': { body: ts } });
      let answers = 0;
      // first 127.0.0.1, then (as a rebinding DNS server would answer) the cloud metadata address
      const lookup = async () => [{ address: answers++ === 0 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
      const source = await open(`http://camera.test:${server.port}/clip.ts`, { lookup, size: { width: 32, height: 24 }, backoff: { initialMs: 20, maxMs: 20 } });
      const rec = record(source);
      source.start();
      const failed = await waitForState(source, 'failed');
      expect(failed.error?.code).toBe('INGEST_DESTINATION_REFUSED');
      expect(failed.detail).toMatch(/169\.254\.169\.254 \(camera\.test resolves to it\)/);
      expect(answers).toBe(2);
      expect(rec.statuses.filter((s) => s.state === 'reconnecting')).toHaveLength(1);
    });

    it('reports a host name that does not resolve as an open failure naming it', async () => {
      const source = await open('http://nowhere.invalid/live.ts', { backoff: { initialMs: 50, maxMs: 100, maxAttempts: 1 } });
      source.start();
      const failed = await waitForState(source, 'failed');
      expect(failed.error?.code).toBe('INGEST_OPEN_FAILED');
      expect(failed.detail).toMatch(/resolve/i);
      expect(failed.detail).toMatch(/nowhere\.invalid/);
      expect(failed.detail).not.toMatch(/SIGSEGV/);
    });

    it.runIf(binary.origin === 'bundled')('says why when the bundled ffmpeg dies looking up a name it was redirected to', async () => {
      const seg = readFileSync(makeClip(binary.path, dir, 'moved.ts', { width: 160, height: 120, seconds: 1, container: 'ts' }));
      const server = await serve({ '/moved.ts': { body: seg } });
      const hop = await serve({ '/old.ts': { redirect: `http://localhost:${server.port}/moved.ts` } });
      const source = await open(hop.url('/old.ts'), { backoff: { initialMs: 50, maxMs: 100, maxAttempts: 0 } });
      source.start();
      const failed = await waitForState(source, 'failed');
      expect(failed.error?.code).toBe('INGEST_OPEN_FAILED');
      expect(failed.detail).toMatch(/bundled ffmpeg crashes when it must look up a host name itself.*GROUNDSTREAM_FFMPEG/);
      expect(server.hits).toBe(0);
    });

    it('reads HLS over HTTP, and ffmpeg refuses a playlist that points at a local file', async () => {
      const seg = readFileSync(makeClip(binary.path, dir, 'seg.ts', { width: 160, height: 120, seconds: 1, container: 'ts' }));
      const playlist = (uri: string) => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${uri}\n#EXT-X-ENDLIST\n`;
      const server = await serve({
        '/ok.m3u8': { body: Buffer.from(playlist('seg.ts')), type: 'application/vnd.apple.mpegurl' },
        '/evil.m3u8': { body: Buffer.from(playlist(`file://${join(dir, 'seg.ts')}`)), type: 'application/vnd.apple.mpegurl' },
        '/seg.ts': { body: seg },
      });
      const ok = await openFfmpegSource(
        { kind: 'url', url: server.url('/ok.m3u8'), live: false },
        { streamId: 'hls', ffmpegPath: binary.path, pacing: 'fast', size: { width: 32, height: 24 } },
      );
      sources.push(ok);
      const okRec = record(ok);
      ok.start();
      await okRec.framesDone;
      expect(ok.status.state).toBe('ended');
      expect(okRec.frames).toHaveLength(30);

      const evil = await openFfmpegSource({ kind: 'url', url: server.url('/evil.m3u8'), live: false }, { streamId: 'evil', ffmpegPath: binary.path });
      sources.push(evil);
      const evilRec = record(evil);
      evil.start();
      await evilRec.framesDone;
      expect(evilRec.frames).toHaveLength(0);
      expect(evil.status.state).toBe('failed');
      expect(evil.status.detail).toMatch(/not on whitelist/);
    });
  });
}
