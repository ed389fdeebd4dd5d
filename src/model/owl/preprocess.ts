/**
 * OWL-ViT / OWLv2 pixel preparation on typed arrays (pure; sharp does the decoding and resizing).
 *
 * OWL-ViT stretches the image to S x S. OWLv2 pads it to a square of side max(H, W) on the bottom
 * and right (pad value 0.0 after rescaling, i.e. black) and then resizes, which is the same as
 * resizing to fit inside S x S and padding the rest of the S x S canvas.
 */
import type { Family } from '../model-folder.js';

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
  if (rgb.length < width * height * channels) throw new RangeError('pixel buffer too short');
  const s0 = 1 / (255 * std[0]!);
  const s1 = 1 / (255 * std[1]!);
  const s2 = 1 / (255 * std[2]!);
  const b0 = -mean[0]! / std[0]!;
  const b1 = -mean[1]! / std[1]!;
  const b2 = -mean[2]! / std[2]!;
  const g = plane;
  const b = 2 * plane;
  // One pass over the pixels, reading the interleaved input once and writing the three planes:
  // about a quarter faster than a pass per channel (this is the bulk of detect()'s overhead).
  let src = 0;
  for (let y = 0; y < height; y++) {
    const row = y * size;
    for (let o = row, end = row + width; o < end; o++, src += channels) {
      out[o] = rgb[src]! * s0 + b0;
      out[o + g] = rgb[src + 1]! * s1 + b1;
      out[o + b] = rgb[src + 2]! * s2 + b2;
    }
    if (width < size) {
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

/** Box scale for a w x h source: OWL-ViT boxes are relative to the image, OWLv2's to the padded square. */
export function boxScale(family: Family, width: number, height: number): { sx: number; sy: number } {
  if (family === 'owlvit') return { sx: width, sy: height };
  const m = Math.max(width, height);
  return { sx: m, sy: m };
}
