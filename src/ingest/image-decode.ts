/**
 * Decodes one pushed image (JPEG, PNG or WebP) to packed RGB at the working size. The only ingest
 * module that imports sharp. Formats are recognised by their magic bytes before sharp sees the
 * data, so that SVG, TIFF, GIF and the rest of libvips' loaders are never reached from a client.
 */
import sharp, { type Metadata } from 'sharp';
import { GroundstreamError } from '../errors.js';
import type { WorkingSize } from './frame-source.js';

// libvips keeps the results of recent operations for identical inputs (sharp's default: up to
// 50 MB). A video server never decodes the same frame twice, so that cache only holds memory.
// The setting is process-wide.
sharp.cache(false);

export type PushedFormat = 'jpeg' | 'png' | 'webp';

export interface DecodedImage {
  /** Packed RGB, width * height * 3 bytes (sharp's output buffer, not copied again). */
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Size of the image as sent (after EXIF orientation). */
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  readonly format: PushedFormat;
}

/** The format from the first bytes, or undefined for anything else. */
export function sniffFormat(b: Uint8Array): PushedFormat | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v)) return 'png';
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/**
 * Decodes `bytes`. Errors (GroundstreamError): IMAGE_INVALID (not JPEG/PNG/WebP), IMAGE_TOO_LARGE
 * (more than `maxPixels`, checked from the header before decoding), IMAGE_DECODE_FAILED (corrupt).
 */
export async function decodeImage(bytes: Uint8Array, options: { maxPixels: number; size?: WorkingSize }): Promise<DecodedImage> {
  const format = sniffFormat(bytes);
  if (!format) throw new GroundstreamError('IMAGE_INVALID', 'not a JPEG, PNG or WebP image');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new GroundstreamError('IMAGE_DECODE_FAILED', firstLine(e), { cause: e });
  }
  const w = meta.autoOrient?.width ?? meta.width ?? 0;
  const h = meta.autoOrient?.height ?? meta.height ?? 0;
  if (!(w > 0 && h > 0)) throw new GroundstreamError('IMAGE_DECODE_FAILED', `${format} without a size`);
  if (w * h > options.maxPixels) {
    throw new GroundstreamError('IMAGE_TOO_LARGE', `${w}x${h} is over the limit of ${options.maxPixels} pixels`);
  }
  try {
    let img = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'error', autoOrient: true });
    const { width, height, fit } = options.size ?? {};
    if (meta.hasAlpha && (width !== undefined || height !== undefined)) {
      // the alpha goes before the resize, which would premultiply by it and turn transparent
      // pixels black (the model's own preprocessing drops it, keeping their colour: image-input.ts)
      const rgb = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      img = sharp(rgb.data, { raw: { width: rgb.info.width, height: rgb.info.height, channels: rgb.info.channels } });
    }
    if (width !== undefined || height !== undefined) {
      img = img.resize({
        ...(width !== undefined && { width }),
        ...(height !== undefined && { height }),
        fit: fit === 'inside' ? 'inside' : width !== undefined && height !== undefined ? 'fill' : 'inside',
        kernel: options.size?.kernel ?? 'linear',
      });
    }
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data, width: info.width, height: info.height, sourceWidth: w, sourceHeight: h, format };
  } catch (e) {
    throw new GroundstreamError('IMAGE_DECODE_FAILED', firstLine(e), { cause: e });
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'unknown error';
}
