import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { PushedFrameSource, type PushResult } from '../../src/ingest/index.js';
import { frameSourceContract } from './frame-source.contract.js';
import { record, waitForState } from './helpers.js';

/** A w x h image whose pixel (x, y) is (x, y, seed), encoded as `format`. */
async function image(format: 'png' | 'jpeg' | 'webp' | 'gif', w = 16, h = 8, seed = 0): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([x, y, seed], (y * w + x) * 3);
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : format === 'jpeg' ? img.jpeg().toBuffer() : format === 'webp' ? img.webp({ lossless: true }).toBuffer() : img.gif().toBuffer();
}

const sources: PushedFrameSource[] = [];
function make(opts: Partial<ConstructorParameters<typeof PushedFrameSource>[0]> = {}): PushedFrameSource {
  const s = new PushedFrameSource({ streamId: 'cam', ...opts });
  sources.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
});

frameSourceContract('PushedFrameSource', async (policy) => {
  const source = make({ policy, maxPending: 8 });
  return {
    source,
    produce: async (n) => {
      const png = await image('png');
      // Under `latest` a push that outruns the decoder replaces the waiting one: push in turn.
      for (let i = 0; i < n; i++) {
        const pushed = source.push(png);
        if (policy === 'latest') await pushed;
      }
    },
  };
});

describe('PushedFrameSource', () => {
  it('decodes PNG, JPEG and WebP to packed RGB and stamps them', async () => {
    const source = make();
    const png = await source.push(await image('png', 16, 8, 7), { seq: 41, capturedAt: 1_000 });
    expect(png.status).toBe('emitted');
    const f = (png as Extract<PushResult, { status: 'emitted' }>).frame;
    expect(f).toMatchObject({ streamId: 'cam', seq: 41, capturedAt: 1_000, pts: 0, width: 16, height: 8, sourceWidth: 16, sourceHeight: 8 });
    expect([...f.data.subarray((3 * 16 + 5) * 3, (3 * 16 + 5) * 3 + 3)]).toEqual([5, 3, 7]); // lossless: exact
    expect(f.decodeMs).toBeGreaterThan(0); // (results count it in timings.decode)
    const jpeg = await source.push(await image('jpeg'), { capturedAt: 1_500 });
    expect(jpeg).toMatchObject({ status: 'emitted', frame: { seq: 42, pts: 0.5, width: 16, height: 8 } });
    expect(await source.push(await image('webp'))).toMatchObject({ status: 'emitted', frame: { seq: 43 } });
  });

  it('scales to the working size and remembers the size sent', async () => {
    const source = make({ size: { width: 8, height: 8 } });
    expect(await source.push(await image('png', 32, 16))).toMatchObject({
      status: 'emitted',
      frame: { width: 8, height: 8, sourceWidth: 32, sourceHeight: 16 },
    });
    const inside = make({ size: { width: 8, height: 8, fit: 'inside' } });
    expect(await inside.push(await image('png', 32, 16))).toMatchObject({ status: 'emitted', frame: { width: 8, height: 4 } });
  });

  it('answers a corrupt image with an error for that frame only, and keeps going', async () => {
    const source = make();
    const rec = record(source);
    const good = await image('jpeg', 64, 48);
    const truncated = good.subarray(0, good.length >> 1);
    expect(await source.push(truncated)).toMatchObject({ status: 'error', error: { code: 'IMAGE_DECODE_FAILED' } });
    expect(await source.push(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really')]))).toMatchObject({ status: 'error', error: { code: 'IMAGE_DECODE_FAILED' } });
    expect(await source.push(await image('gif'))).toMatchObject({ status: 'error', error: { code: 'IMAGE_INVALID' } });
    expect(await source.push(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toMatchObject({ status: 'error', error: { code: 'IMAGE_INVALID' } });
    expect(await source.push(good)).toMatchObject({ status: 'emitted' });
    expect(rec.frames).toHaveLength(1);
    expect(rec.statuses.map((s) => s.state)).toEqual(['connecting', 'live']);
  });

  it('refuses images over the pixel limit before decoding them', async () => {
    const source = make({ maxPixels: 100 * 100 });
    expect(await source.push(await image('png', 101, 100))).toMatchObject({ status: 'error', error: { code: 'IMAGE_TOO_LARGE' } });
    expect(await source.push(await image('png', 100, 100))).toMatchObject({ status: 'emitted' });
  });

  it('under `latest`, keeps only the newest waiting image when pushes outrun the decoder', async () => {
    const source = make();
    const png = await image('png', 64, 64);
    const results = await Promise.all([0, 1, 2, 3, 4].map((seq) => source.push(png, { seq })));
    expect(results.map((r) => r.status)).toEqual(['emitted', 'dropped', 'dropped', 'dropped', 'emitted']);
    expect(results[1]).toEqual({ status: 'dropped', reason: 'superseded' });
    expect(source.latest?.seq).toBe(4);
    expect(source.framesSuperseded).toBe(3); // counted: the stream's stats report them as dropped
  });

  it("keeps pts moving when a capture clock jumps: one frame stamped an hour ahead no longer holds every later pts at 0", async () => {
    const source = make();
    const png = await image('png');
    const t = 1_700_000_000_000;
    const ptsOf = async (capturedAt: number) => ((await source.push(png, { capturedAt })) as Extract<PushResult, { status: 'emitted' }>).frame.pts;
    expect(await ptsOf(t + 3_600_000)).toBe(0); // the first, from a clock an hour ahead
    const a = await ptsOf(t); // an hour back: by arrival instead
    expect(a).toBeGreaterThanOrEqual(0);
    await new Promise((r) => setTimeout(r, 30));
    const b = await ptsOf(t + 40); // 40 ms later by the pusher's clock, as it says
    expect(b - a).toBeCloseTo(0.04, 6);
    const c = await ptsOf(t + 40 + 60_000); // a jump of a minute: by arrival, a moment
    expect(c).toBeGreaterThan(b);
    expect(c - b).toBeLessThan(10);
    expect(await ptsOf(t + 40 + 60_000 + 100)).toBeCloseTo(c + 0.1, 6);
  });

  it('takes frames from one pusher at a time: another is refused while it pushes, and may take over once it is released or silent', async () => {
    const source = make({ pusherHoldMs: 200 });
    const png = await image('png');
    expect(await source.push(png, { pusher: 'a' })).toMatchObject({ status: 'emitted' });
    expect(await source.push(png, { pusher: 'b' })).toMatchObject({ status: 'error', error: { code: 'INGEST_PUSH_STREAM_TAKEN' } });
    expect(await source.push(png, { pusher: 'a' })).toMatchObject({ status: 'emitted' });
    source.release('a'); // its connection closed
    expect(await source.push(png, { pusher: 'b' })).toMatchObject({ status: 'emitted' });
    expect(await source.push(png, { pusher: 'a' })).toMatchObject({ status: 'error', error: { code: 'INGEST_PUSH_STREAM_TAKEN' } });
    await new Promise((r) => setTimeout(r, 250)); // b silent longer than the hold
    expect(await source.push(png, { pusher: 'a' })).toMatchObject({ status: 'emitted' });
  });

  it('under `wait`, refuses pushes beyond maxPending', async () => {
    const source = make({ policy: 'wait', maxPending: 2 });
    const png = await image('png');
    const first = [source.push(png), source.push(png)];
    expect(await source.push(png)).toMatchObject({ status: 'error', error: { code: 'INGEST_QUEUE_FULL' } });
    source.request(2);
    expect((await Promise.all(first)).map((r) => r.status)).toEqual(['emitted', 'emitted']);
  });

  it('waits for its first push without reporting a stall (connecting), then reports stalls', async () => {
    const source = make({ stallTimeoutMs: 100 });
    const rec = record(source);
    source.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(source.status.state).toBe('connecting');
    await source.push(await image('png'));
    await waitForState(source, 'stalled');
    expect(rec.statuses.map((s) => s.state)).toEqual(['connecting', 'live', 'stalled']);
  });

  it('reports stalled when the client stops pushing, and live again when it resumes', async () => {
    const source = make({ stallTimeoutMs: 100 });
    const png = await image('png');
    await source.push(png);
    await waitForState(source, 'stalled');
    expect(source.status.error?.code).toBe('INGEST_STALLED');
    await source.push(png);
    expect(source.status.state).toBe('live');
  });

  it('resolves pending pushes as dropped on stop, and refuses pushes after it', async () => {
    const source = make({ policy: 'wait' });
    const pending = source.push(await image('png'));
    await source.stop();
    expect(await pending).toEqual({ status: 'dropped', reason: 'stopped' });
    expect(await source.push(await image('png'))).toMatchObject({ status: 'error', error: { code: 'INGEST_SOURCE_CLOSED' } });
  });
});
