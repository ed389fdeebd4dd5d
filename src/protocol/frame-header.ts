/**
 * Binary frames: a small header, then an encoded image. Clients push video frames this way, and
 * the server sends viewer images the same way. Layout (big-endian, docs/protocol.md):
 *
 *   0      2   magic "GS" (0x47 0x53)
 *   2      1   header version (1)
 *   3      1   flags: bit 0 = seq is float64 (else uint32); bits 1-7 reserved, 0
 *   4      1   format: 1 jpeg, 2 png, 3 webp
 *   5      1   stream id length L (1..maxStreamIdLength)
 *   6      L   stream id, UTF-8 (ID_PATTERN)
 *   6+L    4|8 seq
 *   ...    8   capturedAt, float64 ms since the epoch
 *   ...    n   image (n >= 1), starting with its format's signature
 *
 * decodeFrame never throws: each malformation has its own PROTOCOL_FRAME_* code.
 */
import { GroundstreamError } from '../errors.js';
import type { FrameFormat } from './messages.js';
import { DEFAULT_LIMITS, isValidId, resolveLimits, type ProtocolLimits } from './limits.js';
import { protocolError, quote, type ProtocolError, type ProtocolErrorCode } from './protocol-error.js';

export const FRAME_MAGIC: readonly [number, number] = [0x47, 0x53];
export const FRAME_HEADER_VERSION = 1;
/** Flag bit: seq is a float64 (for seq >= 2^32) rather than a uint32. */
export const FRAME_FLAG_SEQ_F64 = 0x01;
export const FRAME_FORMAT_CODES: Readonly<Record<FrameFormat, number>> = Object.freeze({ jpeg: 1, png: 2, webp: 3 });
const FORMAT_BY_CODE: readonly (FrameFormat | undefined)[] = [undefined, 'jpeg', 'png', 'webp'];
const FIXED = 6; // magic, version, flags, format, stream length

/** What the header says about the image that follows it. */
export interface FrameHeader {
  readonly stream: string;
  /** Frame number, a non-negative integer up to Number.MAX_SAFE_INTEGER. */
  readonly seq: number;
  /** Wall-clock capture time, ms since the epoch (>= 0). */
  readonly capturedAt: number;
  readonly format: FrameFormat;
}

/** A decoded binary frame; `data` is a view into the received bytes, not a copy. */
export interface DecodedFrame extends FrameHeader {
  readonly data: Uint8Array;
}

export type FrameDecodeResult =
  | { readonly ok: true; readonly frame: DecodedFrame }
  | { readonly ok: false; readonly error: ProtocolError };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** The image format its first bytes announce, or undefined. */
export function sniffImageFormat(image: Uint8Array): FrameFormat | undefined {
  const b = image;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 12 && ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return 'webp';
  return undefined;
}

function ascii(b: Uint8Array, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (b[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * Header followed by `image`, in one buffer ready to send. Throws GroundstreamError with the
 * PROTOCOL_FRAME_* code the decoder would report for the same mistake.
 */
export function encodeFrame(header: FrameHeader, image: Uint8Array, limits: ProtocolLimits = DEFAULT_LIMITS): Uint8Array {
  const fail = (code: ProtocolErrorCode, detail: string): never => {
    throw new GroundstreamError(code, detail);
  };
  const formatCode = FRAME_FORMAT_CODES[header.format];
  if (!Object.hasOwn(FRAME_FORMAT_CODES, header.format)) fail('PROTOCOL_FRAME_UNKNOWN_FORMAT', quote(header.format));
  if (typeof header.stream !== 'string' || !isValidId(header.stream, limits.maxStreamIdLength)) {
    fail('PROTOCOL_FRAME_BAD_STREAM', quote(header.stream));
  }
  if (!Number.isSafeInteger(header.seq) || header.seq < 0) fail('PROTOCOL_FRAME_BAD_SEQ', String(header.seq));
  if (!Number.isFinite(header.capturedAt) || header.capturedAt < 0) fail('PROTOCOL_FRAME_BAD_TIME', String(header.capturedAt));
  if (image.byteLength === 0) fail('PROTOCOL_FRAME_EMPTY', 'image is empty');
  const sniffed = sniffImageFormat(image);
  if (sniffed !== header.format) fail('PROTOCOL_FRAME_FORMAT_MISMATCH', `declared ${header.format}, looks like ${sniffed ?? 'neither'}`);

  const stream = utf8Encoder.encode(header.stream);
  const f64 = header.seq > 0xffff_ffff;
  const headerLength = FIXED + stream.length + (f64 ? 8 : 4) + 8;
  const total = headerLength + image.byteLength;
  if (total > limits.maxFrameBytes) fail('PROTOCOL_FRAME_TOO_LARGE', `${total} bytes, at most ${limits.maxFrameBytes}`);

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out[0] = FRAME_MAGIC[0];
  out[1] = FRAME_MAGIC[1];
  out[2] = FRAME_HEADER_VERSION;
  out[3] = f64 ? FRAME_FLAG_SEQ_F64 : 0;
  out[4] = formatCode;
  out[5] = stream.length;
  out.set(stream, FIXED);
  let at = FIXED + stream.length;
  if (f64) view.setFloat64(at, header.seq);
  else view.setUint32(at, header.seq);
  at += f64 ? 8 : 4;
  view.setFloat64(at, header.capturedAt);
  out.set(image, headerLength);
  return out;
}

/**
 * Read a binary frame. Checks, in order: size (PROTOCOL_FRAME_TOO_LARGE), length
 * (PROTOCOL_FRAME_TRUNCATED), magic, version, reserved flags, format, stream id, seq, capture
 * time, a non-empty image, and that the image starts with its declared format's signature.
 */
export function decodeFrame(input: Uint8Array | ArrayBuffer, limits?: Partial<ProtocolLimits>): FrameDecodeResult {
  const l = resolveLimits(limits); // throws CONFIG_INVALID for bad limits: a programmer error
  try {
    return decodeChecked(input instanceof Uint8Array ? input : new Uint8Array(input), l);
  } catch (e) {
    // Unreachable by design (every read is bounds-checked first); the only throw a DataView
    // could make is an out-of-range read, which is a truncated frame.
    return { ok: false, error: protocolError('PROTOCOL_FRAME_TRUNCATED', `decoder failed: ${quote((e as Error)?.message)}`) };
  }
}

function decodeChecked(b: Uint8Array, limits: ProtocolLimits): FrameDecodeResult {
  let ref: string | undefined;
  const fail = (code: ProtocolErrorCode, detail: string): FrameDecodeResult => ({
    ok: false,
    error: protocolError(code, detail, ref),
  });

  if (b.byteLength > limits.maxFrameBytes) return fail('PROTOCOL_FRAME_TOO_LARGE', `${b.byteLength} bytes, at most ${limits.maxFrameBytes}`);
  if (b.byteLength < FIXED) return fail('PROTOCOL_FRAME_TRUNCATED', `${b.byteLength} bytes`);
  if (b[0] !== FRAME_MAGIC[0] || b[1] !== FRAME_MAGIC[1]) return fail('PROTOCOL_FRAME_BAD_MAGIC', `got 0x${hex(b[0]!)}${hex(b[1]!)}`);
  if (b[2] !== FRAME_HEADER_VERSION) return fail('PROTOCOL_FRAME_UNSUPPORTED_VERSION', `version ${b[2]}, expected ${FRAME_HEADER_VERSION}`);
  const flags = b[3]!;
  if ((flags & ~FRAME_FLAG_SEQ_F64) !== 0) return fail('PROTOCOL_FRAME_RESERVED_FLAGS', `flags 0x${hex(flags)}`);
  const format = FORMAT_BY_CODE[b[4]!];
  if (format === undefined) return fail('PROTOCOL_FRAME_UNKNOWN_FORMAT', `format code ${b[4]}`);
  const streamLength = b[5]!;
  if (streamLength === 0 || streamLength > limits.maxStreamIdLength) {
    return fail('PROTOCOL_FRAME_BAD_STREAM', `length ${streamLength}, expected 1..${limits.maxStreamIdLength}`);
  }
  const f64 = (flags & FRAME_FLAG_SEQ_F64) !== 0;
  const headerLength = FIXED + streamLength + (f64 ? 8 : 4) + 8;
  if (b.byteLength < headerLength) return fail('PROTOCOL_FRAME_TRUNCATED', `${b.byteLength} bytes, header needs ${headerLength}`);

  let stream: string;
  try {
    stream = utf8Decoder.decode(b.subarray(FIXED, FIXED + streamLength));
  } catch {
    return fail('PROTOCOL_FRAME_BAD_STREAM', 'not valid UTF-8');
  }
  if (!isValidId(stream, limits.maxStreamIdLength)) return fail('PROTOCOL_FRAME_BAD_STREAM', quote(stream));

  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = FIXED + streamLength;
  const seq = f64 ? view.getFloat64(at) : view.getUint32(at);
  if (!Number.isSafeInteger(seq) || seq < 0) return fail('PROTOCOL_FRAME_BAD_SEQ', String(seq));
  ref = `${stream}/${seq}`;
  at += f64 ? 8 : 4;
  const capturedAt = view.getFloat64(at);
  if (!Number.isFinite(capturedAt) || capturedAt < 0) return fail('PROTOCOL_FRAME_BAD_TIME', String(capturedAt));

  const data = b.subarray(headerLength);
  if (data.byteLength === 0) return fail('PROTOCOL_FRAME_EMPTY', 'no bytes after the header');
  const sniffed = sniffImageFormat(data);
  if (sniffed !== format) return fail('PROTOCOL_FRAME_FORMAT_MISMATCH', `declared ${format}, looks like ${sniffed ?? 'neither'}`);
  return { ok: true, frame: { stream, seq, capturedAt, format, data } };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
