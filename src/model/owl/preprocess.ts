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
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * std[c]!);
    const shift = -mean[c]! / std[c]!;
    const base = c * plane;
    for (let y = 0; y < height; y++) {
      let src = y * width * channels + c;
      const row = base + y * size;
      for (let x = 0; x < width; x++, src += channels) out[row + x] = rgb[src]! * scale + shift;
      if (width < size) out.fill(shift, row + width, row + size);
    }
    if (height < size) out.fill(shift, base + height * size, base + plane);
  }
}

/** Box scale for a w x h source: OWL-ViT boxes are relative to the image, OWLv2's to the padded square. */
export function boxScale(family: Family, width: number, height: number): { sx: number; sy: number } {
  if (family === 'owlvit') return { sx: width, sy: height };
  const m = Math.max(width, height);
  return { sx: m, sy: m };
}
