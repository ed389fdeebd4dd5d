import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  DEFAULT_LIMITS,
  encodeFrame,
  FRAME_FLAG_SEQ_F64,
  PROTOCOL_ERROR_CODES,
  sniffImageFormat,
  type FrameHeader,
} from '../../src/protocol/index.js';
import { rng } from './random.js';

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const WEBP = Uint8Array.from([...'RIFF'].map((c) => c.charCodeAt(0)).concat([4, 0, 0, 0], [...'WEBPVP8 '].map((c) => c.charCodeAt(0))));
const header: FrameHeader = { stream: 'cam1', seq: 42, capturedAt: 1718000000123.5, format: 'jpeg' };

/** Byte offsets of the v1 layout for a 4-character stream id and a uint32 seq. */
const AT = { magic: 0, version: 2, flags: 3, format: 4, streamLength: 5, stream: 6, seq: 10, capturedAt: 14, image: 22 };

const codeOf = (bytes: Uint8Array, limits?: Parameters<typeof decodeFrame>[1]) => {
  const r = decodeFrame(bytes, limits);
  return r.ok ? 'ok' : r.error.code;
};
const withByte = (at: number, value: number) => {
  const b = encodeFrame(header, JPEG);
  b[at] = value;
  return b;
};

describe('binary frame header', () => {
  it.each([
    ['jpeg', JPEG],
    ['png', PNG],
    ['webp', WEBP],
  ] as const)('round-trips a %s frame', (format, image) => {
    const bytes = encodeFrame({ ...header, format }, image);
    expect(decodeFrame(bytes)).toEqual({ ok: true, frame: { ...header, format, data: image } });
  });

  it('lays the header out as documented', () => {
    const b = encodeFrame(header, JPEG);
    expect([...b.subarray(0, AT.stream)]).toEqual([0x47, 0x53, 1, 0, 1, 4]);
    expect(new TextDecoder().decode(b.subarray(AT.stream, AT.seq))).toBe('cam1');
    const view = new DataView(b.buffer);
    expect(view.getUint32(AT.seq)).toBe(42); // big-endian
    expect(view.getFloat64(AT.capturedAt)).toBe(header.capturedAt);
    expect(b.subarray(AT.image)).toEqual(JPEG);
  });

  it('switches seq to float64 above 2^32 - 1, and round-trips it', () => {
    for (const seq of [0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const b = encodeFrame({ ...header, seq }, JPEG);
      expect(b[AT.flags]).toBe(seq > 2 ** 32 - 1 ? FRAME_FLAG_SEQ_F64 : 0);
      expect(decodeFrame(b)).toMatchObject({ ok: true, frame: { seq } });
    }
  });

  it('decodes from an ArrayBuffer and from a view with an offset, without copying the image', () => {
    const b = encodeFrame(header, JPEG);
    expect(decodeFrame(b.slice().buffer)).toMatchObject({ ok: true });
    const padded = new Uint8Array(b.length + 7);
    padded.set(b, 7);
    const r = decodeFrame(padded.subarray(7));
    expect(r).toMatchObject({ ok: true, frame: header });
    if (r.ok) expect(r.frame.data.buffer).toBe(padded.buffer);
  });

  describe('every malformation has its own code', () => {
    it('PROTOCOL_FRAME_TOO_LARGE', () => {
      expect(codeOf(encodeFrame(header, JPEG), { maxFrameBytes: 20 })).toBe('PROTOCOL_FRAME_TOO_LARGE');
    });
    it('PROTOCOL_FRAME_TRUNCATED', () => {
      const b = encodeFrame(header, JPEG);
      for (const n of [0, 1, 5, AT.seq + 2, AT.capturedAt + 7]) expect(codeOf(b.subarray(0, n))).toBe('PROTOCOL_FRAME_TRUNCATED');
      // Claiming a float64 seq makes the same bytes four short.
      const f = withByte(AT.flags, FRAME_FLAG_SEQ_F64);
      expect(codeOf(f.subarray(0, AT.image + 3))).toBe('PROTOCOL_FRAME_TRUNCATED');
    });
    it('PROTOCOL_FRAME_BAD_MAGIC', () => {
      expect(codeOf(withByte(0, 0x48))).toBe('PROTOCOL_FRAME_BAD_MAGIC');
      expect(codeOf(new TextEncoder().encode('{"type":"ping"}'))).toBe('PROTOCOL_FRAME_BAD_MAGIC');
    });
    it('PROTOCOL_FRAME_UNSUPPORTED_VERSION', () => {
      expect(codeOf(withByte(AT.version, 2))).toBe('PROTOCOL_FRAME_UNSUPPORTED_VERSION');
      expect(codeOf(withByte(AT.version, 0))).toBe('PROTOCOL_FRAME_UNSUPPORTED_VERSION');
    });
    it('PROTOCOL_FRAME_RESERVED_FLAGS', () => {
      expect(codeOf(withByte(AT.flags, 0x02))).toBe('PROTOCOL_FRAME_RESERVED_FLAGS');
      expect(codeOf(withByte(AT.flags, 0x80))).toBe('PROTOCOL_FRAME_RESERVED_FLAGS');
    });
    it('PROTOCOL_FRAME_UNKNOWN_FORMAT', () => {
      expect(codeOf(withByte(AT.format, 0))).toBe('PROTOCOL_FRAME_UNKNOWN_FORMAT');
      expect(codeOf(withByte(AT.format, 4))).toBe('PROTOCOL_FRAME_UNKNOWN_FORMAT');
    });
    it('PROTOCOL_FRAME_BAD_STREAM', () => {
      expect(codeOf(withByte(AT.streamLength, 0))).toBe('PROTOCOL_FRAME_BAD_STREAM');
      expect(codeOf(withByte(AT.streamLength, 65))).toBe('PROTOCOL_FRAME_BAD_STREAM');
      expect(codeOf(withByte(AT.stream, 0xff))).toBe('PROTOCOL_FRAME_BAD_STREAM'); // not UTF-8
      expect(codeOf(withByte(AT.stream, 0x2f))).toBe('PROTOCOL_FRAME_BAD_STREAM'); // '/' is not allowed
      expect(codeOf(encodeFrame(header, JPEG), { maxStreamIdLength: 3 })).toBe('PROTOCOL_FRAME_BAD_STREAM');
    });
    it('PROTOCOL_FRAME_BAD_SEQ', () => {
      const b = encodeFrame({ ...header, seq: 2 ** 40 }, JPEG);
      const view = new DataView(b.buffer);
      for (const bad of [-1, 0.5, NaN, Infinity, 2 ** 60]) {
        view.setFloat64(AT.seq, bad);
        expect(codeOf(b)).toBe('PROTOCOL_FRAME_BAD_SEQ');
      }
    });
    it('PROTOCOL_FRAME_BAD_TIME', () => {
      const b = encodeFrame(header, JPEG);
      const view = new DataView(b.buffer);
      for (const bad of [NaN, Infinity, -Infinity, -1]) {
        view.setFloat64(AT.capturedAt, bad);
        expect(codeOf(b)).toBe('PROTOCOL_FRAME_BAD_TIME');
      }
    });
    it('PROTOCOL_FRAME_EMPTY', () => {
      expect(codeOf(encodeFrame(header, JPEG).subarray(0, AT.image))).toBe('PROTOCOL_FRAME_EMPTY');
    });
    it('PROTOCOL_FRAME_FORMAT_MISMATCH', () => {
      expect(codeOf(withByte(AT.format, 2))).toBe('PROTOCOL_FRAME_FORMAT_MISMATCH'); // says png, is jpeg
      expect(codeOf(withByte(AT.image, 0))).toBe('PROTOCOL_FRAME_FORMAT_MISMATCH');
    });
    it('covers every PROTOCOL_FRAME_* code in the catalog', () => {
      const tested = ['TOO_LARGE', 'TRUNCATED', 'BAD_MAGIC', 'UNSUPPORTED_VERSION', 'RESERVED_FLAGS', 'UNKNOWN_FORMAT', 'BAD_STREAM', 'BAD_SEQ', 'BAD_TIME', 'EMPTY', 'FORMAT_MISMATCH'];
      expect(PROTOCOL_ERROR_CODES.filter((c) => c.startsWith('PROTOCOL_FRAME_')).sort()).toEqual(tested.map((t) => `PROTOCOL_FRAME_${t}`).sort());
    });
  });

  it('refers to the frame as <stream>/<seq> once both are readable', () => {
    expect(decodeFrame(withByte(AT.image, 0))).toMatchObject({ ok: false, error: { ref: 'cam1/42' } });
    const early = decodeFrame(withByte(AT.format, 9));
    expect(early.ok).toBe(false);
    if (!early.ok) expect(early.error.ref).toBeUndefined();
  });

  it('refuses to encode what it would refuse to decode, with the same codes', () => {
    const bad: [Partial<FrameHeader>, Uint8Array, string][] = [
      [{ stream: '' }, JPEG, 'PROTOCOL_FRAME_BAD_STREAM'],
      [{ stream: 'x'.repeat(65) }, JPEG, 'PROTOCOL_FRAME_BAD_STREAM'],
      [{ seq: -1 }, JPEG, 'PROTOCOL_FRAME_BAD_SEQ'],
      [{ seq: 1.5 }, JPEG, 'PROTOCOL_FRAME_BAD_SEQ'],
      [{ capturedAt: NaN }, JPEG, 'PROTOCOL_FRAME_BAD_TIME'],
      [{ format: 'gif' as 'png' }, JPEG, 'PROTOCOL_FRAME_UNKNOWN_FORMAT'],
      [{}, new Uint8Array(0), 'PROTOCOL_FRAME_EMPTY'],
      [{ format: 'png' }, JPEG, 'PROTOCOL_FRAME_FORMAT_MISMATCH'],
    ];
    for (const [change, image, code] of bad) {
      expect(() => encodeFrame({ ...header, ...change }, image), code).toThrow(expect.objectContaining({ code }));
    }
    expect(() => encodeFrame(header, JPEG, { ...DEFAULT_LIMITS, maxFrameBytes: 10 })).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_FRAME_TOO_LARGE' }),
    );
  });

  it('sniffs formats by signature', () => {
    expect([JPEG, PNG, WEBP, new Uint8Array([1, 2, 3])].map(sniffImageFormat)).toEqual(['jpeg', 'png', 'webp', undefined]);
  });

  it('never throws on random or corrupted bytes', () => {
    const r = rng(7);
    const valid = [encodeFrame(header, JPEG), encodeFrame({ ...header, seq: 2 ** 40, format: 'png' }, PNG)];
    const codes = new Set(PROTOCOL_ERROR_CODES);
    for (let i = 0; i < 6000; i++) {
      let input: Uint8Array;
      if (i % 3 === 0) input = r.bytes(64);
      else {
        input = r.pick(valid).slice();
        for (let k = 0; k <= r.int(3); k++) input[r.int(input.length)] = r.int(256);
        if (r.next() < 0.3) input = input.subarray(0, r.int(input.length + 1));
      }
      let result: ReturnType<typeof decodeFrame> | undefined;
      expect(() => (result = decodeFrame(input))).not.toThrow();
      if (!result!.ok) expect(codes.has(result!.error.code)).toBe(true);
    }
  });
});
