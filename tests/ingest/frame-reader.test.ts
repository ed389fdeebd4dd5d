import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../src/ingest/frame-reader.js';

/** Bytes 0, 1, 2, … (mod 251, so that frame boundaries are visible). */
function stream(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % 251);
}

/** Feeds `bytes` cut at `cuts` and returns every frame taken. */
function readAll(reader: FrameReader, bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    reader.feed(bytes.subarray(from, to));
    from = to;
    for (let f = reader.take(); f || reader.hasInput; f = reader.take()) if (f) frames.push(f);
  }
  return frames;
}

describe('FrameReader', () => {
  it('cuts frames that span chunks, and chunks that hold several frames', () => {
    const bytes = stream(12 * 10);
    const frames = readAll(new FrameReader(12), bytes, [5, 7, 30, 31, 64, 100]);
    expect(frames).toHaveLength(10);
    frames.forEach((f, i) => expect([...f]).toEqual([...bytes.subarray(i * 12, i * 12 + 12)]));
  });

  it('gives every frame its own buffer, allocated once at full size (one copy per byte)', () => {
    const sizes: number[] = [];
    const reader = new FrameReader(6, (n) => (sizes.push(n), new Uint8Array(n)));
    const bytes = stream(6 * 4);
    const frames = readAll(reader, bytes, [1, 2, 3, 13]);
    expect(sizes).toEqual([6, 6, 6, 6]);
    for (const f of frames) {
      expect(f.byteOffset).toBe(0);
      expect(f.buffer).not.toBe(bytes.buffer);
    }
    expect(new Set(frames.map((f) => f.buffer)).size).toBe(4);
  });

  it('says when the fed bytes complete a frame, before taking it', () => {
    const reader = new FrameReader(4);
    reader.feed(stream(3));
    expect(reader.frameReady).toBe(false);
    expect(reader.take()).toBeUndefined();
    expect(reader.hasInput).toBe(false);
    reader.feed(stream(6));
    expect(reader.frameReady).toBe(true);
    expect(reader.take()).toHaveLength(4); // 3 old bytes + 1 new
    expect(reader.frameReady).toBe(true); // 5 new bytes left
    expect(reader.take()).toHaveLength(4);
    expect(reader.frameReady).toBe(false);
    expect(reader.take()).toBeUndefined();
    expect(reader.partialBytes).toBe(1);
  });

  it('reports a truncated last frame and refuses a second chunk before the first is used', () => {
    const reader = new FrameReader(8);
    reader.feed(stream(20));
    expect(reader.take()).toBeDefined();
    expect(() => reader.feed(stream(1))).toThrow(/not consumed/);
    expect(reader.take()).toBeDefined();
    expect(reader.take()).toBeUndefined();
    expect(reader.partialBytes).toBe(4);
  });

  it('rejects a nonsensical frame size', () => {
    expect(() => new FrameReader(0)).toThrow(RangeError);
    expect(() => new FrameReader(1.5)).toThrow(RangeError);
  });
});
