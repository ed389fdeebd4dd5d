/**
 * OWL-ViT / OWLv2 pixel preparation on typed arrays (pure; sharp does the decoding and resizing).
 *
 * OWL-ViT stretches the image to S x S. OWLv2 pads it to a square of side max(H, W) on the bottom
 * and right (pad value 0.0 after rescaling, i.e. black) and then resizes, which is the same as
 * resizing to fit inside S x S and padding the rest of the S x S canvas.
 */
import type { Family } from '../model-folder.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The size (w, h) an image must be resized to before `normalizeInto`, for a source of w x h. */
export function resizeTarget(family: Family, size: number, width: number, height: number): { width: number; height: number } {
  if (family === 'owlvit') return { width: size, height: size };
  const m = Math.max(width, height);
  return {
    width: Math.max(1, Math.min(size, Math.round((width * size) / m))),
    height: Math.max(1, Math.min(size, Math.round((height * size) / m))),
  };
}

/**
 * Writes CHW float32 pixels into `out` ([3, S, S], reused across frames): the w x h RGB image at
 * the top left, normalised ((v / 255 - mean) / std), and pad value 0.0 (normalised) elsewhere.
 * `channels` is 3 (RGB) or 4 (RGBA, alpha ignored).
 */
export function normalizeInto(
  out: Float32Array,
  rgb: Uint8Array,
  width: number,
  height: number,
  size: number,
  mean: readonly number[],
  std: readonly number[],
  channels = 3,
): void {
  const plane = size * size;
  if (out.length !== 3 * plane) throw new RangeError(`output holds ${out.length} values, need ${3 * plane}`);
  if (width > size || height > size) throw new RangeError(`image ${width}x${height} exceeds ${size}x${size}`);
  if (channels !== 3 && channels !== 4) throw new RangeError(`channels must be 3 or 4, not ${channels}`);
  if (rgb.length < width * height * channels) throw new RangeError('pixel buffer too short');
  const s0 = 1 / (255 * std[0]!);
  const s1 = 1 / (255 * std[1]!);
  const s2 = 1 / (255 * std[2]!);
  const b0 = -mean[0]! / std[0]!;
  const b1 = -mean[1]! / std[1]!;
  const b2 = -mean[2]! / std[2]!;
  const g = plane;
  const b = 2 * plane;
  // One pass over the pixels, reading the interleaved input once and writing the three planes
  // (about a quarter faster than a pass per channel). Where the input is 4-byte aligned, it is read
  // a 32-bit word at a time (four RGB pixels in three words, or one RGBA pixel in one), which takes
  // about 30% off (0.18 -> 0.12 ms at 224 x 224 here): this loop is most of detect()'s own cost.
  const words = LITTLE_ENDIAN && (rgb.byteOffset & 3) === 0 ? new Uint32Array(rgb.buffer, rgb.byteOffset, rgb.length >> 2) : null;
  // Rows are contiguous in the output when the image fills its width: then the whole image is one run.
  const runs = width === size ? 1 : height;
  const runLength = width === size ? width * height : width;
  for (let r = 0; r < runs; r++) {
    let o = r * size;
    const end = o + runLength;
    let src = r * runLength * channels;
    while (o < end) {
      if (words !== null && (src & 3) === 0 && end - o >= 4) {
        const done = channels === 4 ? rgbaWords(out, words, o, end, src >> 2, g, s0, s1, s2, b0, b1, b2) : rgbWords(out, words, o, end, src >> 2, g, s0, s1, s2, b0, b1, b2);
        src += (done - o) * channels;
        o = done;
        continue;
      }
      // a pixel at a time: a misaligned buffer, the 1-3 pixels that bring an RGB row that starts
      // mid-word to a word boundary, and the last 1-3 of a run
      out[o] = rgb[src]! * s0 + b0;
      out[o + g] = rgb[src + 1]! * s1 + b1;
      out[o + b] = rgb[src + 2]! * s2 + b2;
      o++;
      src += channels;
    }
  }
  if (width < size) {
    for (let y = 0; y < height; y++) {
      const row = y * size;
      out.fill(b0, row + width, row + size);
      out.fill(b1, g + row + width, g + row + size);
      out.fill(b2, b + row + width, b + row + size);
    }
  }
  if (height < size) {
    out.fill(b0, height * size, plane);
    out.fill(b1, g + height * size, g + plane);
    out.fill(b2, b + height * size, b + plane);
  }
}

/** RGB words from index k into out[o..end) four pixels at a time; returns where it stopped. */
function rgbWords(out: Float32Array, words: Uint32Array, o: number, end: number, k: number, g: number,
  s0: number, s1: number, s2: number, b0: number, b1: number, b2: number): number {
  const b = 2 * g;
  // little-endian words: x = r0 g0 b0 r1, y = g1 b1 r2 g2, z = b2 r3 g3 b3
  for (const stop = end - 3; o < stop; o += 4, k += 3) {
    const x = words[k]!;
    const y = words[k + 1]!;
    const z = words[k + 2]!;
    out[o] = (x & 255) * s0 + b0;
    out[o + g] = ((x >>> 8) & 255) * s1 + b1;
    out[o + b] = ((x >>> 16) & 255) * s2 + b2;
    out[o + 1] = (x >>> 24) * s0 + b0;
    out[o + 1 + g] = (y & 255) * s1 + b1;
    out[o + 1 + b] = ((y >>> 8) & 255) * s2 + b2;
    out[o + 2] = ((y >>> 16) & 255) * s0 + b0;
    out[o + 2 + g] = (y >>> 24) * s1 + b1;
    out[o + 2 + b] = (z & 255) * s2 + b2;
    out[o + 3] = ((z >>> 8) & 255) * s0 + b0;
    out[o + 3 + g] = ((z >>> 16) & 255) * s1 + b1;
    out[o + 3 + b] = (z >>> 24) * s2 + b2;
  }
  return o;
}

/** RGBA words (alpha ignored) from index k into out[o..end); returns end. */
function rgbaWords(out: Float32Array, words: Uint32Array, o: number, end: number, k: number, g: number,
  s0: number, s1: number, s2: number, b0: number, b1: number, b2: number): number {
  const b = 2 * g;
  for (; o < end; o++, k++) {
    const x = words[k]!;
    out[o] = (x & 255) * s0 + b0;
    out[o + g] = ((x >>> 8) & 255) * s1 + b1;
    out[o + b] = ((x >>> 16) & 255) * s2 + b2;
  }
  return o;
}

/** Box scale for a w x h source: OWL-ViT boxes are relative to the image, OWLv2's to the padded square. */
export function boxScale(family: Family, width: number, height: number): { sx: number; sy: number } {
  if (family === 'owlvit') return { sx: width, sy: height };
  const m = Math.max(width, height);
  return { sx: m, sy: m };
}
