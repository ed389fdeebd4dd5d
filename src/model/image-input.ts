/**
 * Turns an image (encoded JPEG/PNG/WebP bytes, or raw RGB from a video source) into the model's
 * input tensor. sharp decodes, applies EXIF orientation once, and resizes; normalisation writes
 * into a caller-owned Float32Array so that no big buffer is allocated per frame on our side.
 */
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { GroundstreamError } from '../errors.js';
import type { Family } from './model-folder.js';
import { normalizeInto, resizeTarget } from './owl/preprocess.js';

// libvips keeps the results of recent operations for identical inputs (sharp's default: up to
// 50 MB). A video server never decodes the same frame twice, so that cache only holds memory.
// The setting is process-wide.
sharp.cache(false);

/** Raw pixels, e.g. a decoded video frame. `sourceWidth/Height` give the size boxes are reported
 * in when the pixels were already scaled down (by ffmpeg) from a larger source. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 3 (RGB, default) or 4 (RGBA). */
  channels?: 3 | 4;
  sourceWidth?: number;
  sourceHeight?: number;
}

export type ImageInput = Uint8Array | RawImage;

export interface PixelSpec {
  family: Family;
  size: number;
  kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
  mean: readonly number[];
  std: readonly number[];
  /** Largest accepted image, in pixels (width x height of the decoded image). */
  maxPixels: number;
}

const FORMATS = new Set(['jpeg', 'png', 'webp']);

function isRaw(input: ImageInput): input is RawImage {
  return !(input instanceof Uint8Array);
}

/** Decodes/resizes `input` and writes normalised pixels to `out`; returns the size boxes refer to. */
export async function prepareImage(input: ImageInput, spec: PixelSpec, out: Float32Array): Promise<{ width: number; height: number }> {
  return isRaw(input) ? prepareRaw(input, spec, out) : prepareEncoded(input, spec, out);
}

async function prepareRaw(img: RawImage, spec: PixelSpec, out: Float32Array) {
  const channels = img.channels ?? 3;
  const { width, height } = img;
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new GroundstreamError('IMAGE_INVALID', `raw image size ${width}x${height}`);
  }
  if (img.data.length !== width * height * channels) {
    throw new GroundstreamError('IMAGE_INVALID', `raw image has ${img.data.length} bytes, expected ${width}x${height}x${channels}`);
  }
  if (width * height > spec.maxPixels) {
    throw new GroundstreamError('IMAGE_TOO_LARGE', `${width}x${height} is over the limit of ${spec.maxPixels} pixels`);
  }
  const srcW = img.sourceWidth ?? width;
  const srcH = img.sourceHeight ?? height;
  const target = resizeTarget(spec.family, spec.size, srcW, srcH);
  if (target.width === width && target.height === height) {
    // Already at working size (ffmpeg scaled it): normalise in place, no sharp round trip.
    normalizeInto(out, img.data, width, height, spec.size, spec.mean, spec.std, channels);
  } else {
    const raw = sharp(img.data, { raw: { width, height, channels } });
    const { data, info } =
      channels === 4
        ? await resizeOpaque(raw, target, spec.kernel)
        : await raw.resize(target.width, target.height, { fit: 'fill', kernel: spec.kernel }).raw().toBuffer({ resolveWithObject: true });
    normalizeInto(out, data, info.width, info.height, spec.size, spec.mean, spec.std, info.channels);
  }
  return { width: srcW, height: srcH };
}

async function prepareEncoded(bytes: Uint8Array, spec: PixelSpec, out: Float32Array) {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new GroundstreamError('IMAGE_DECODE_FAILED', e instanceof Error ? e.message : String(e), { cause: e });
  }
  if (!meta.format || !FORMATS.has(meta.format)) {
    throw new GroundstreamError('IMAGE_DECODE_FAILED', `unsupported format ${meta.format ?? 'unknown'} (JPEG, PNG or WebP)`);
  }
  if (!meta.width || !meta.height) throw new GroundstreamError('IMAGE_DECODE_FAILED', 'image has no size');
  if (meta.width * meta.height > spec.maxPixels) {
    throw new GroundstreamError('IMAGE_TOO_LARGE', `${meta.width}x${meta.height} is over the limit of ${spec.maxPixels} pixels`);
  }
  // EXIF orientations 5-8 swap width and height.
  const swap = (meta.orientation ?? 1) >= 5;
  const width = swap ? meta.height : meta.width;
  const height = swap ? meta.width : meta.height;
  const target = resizeTarget(spec.family, spec.size, width, height);
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = meta.hasAlpha
      ? await resizeOpaque(sharp(bytes, { limitInputPixels: spec.maxPixels, failOn: 'error' }).rotate(), target, spec.kernel)
      : await sharp(bytes, { limitInputPixels: spec.maxPixels, failOn: 'error' })
          .rotate()
          .resize(target.width, target.height, { fit: 'fill', kernel: spec.kernel })
          .removeAlpha()
          .toColourspace('srgb')
          .raw()
          .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new GroundstreamError('IMAGE_DECODE_FAILED', e instanceof Error ? e.message : String(e), { cause: e });
  }
  const { data, info } = decoded;
  normalizeInto(out, data, info.width, info.height, spec.size, spec.mean, spec.std, info.channels);
  return { width, height };
}

/**
 * Resizes an image that has an alpha channel with the alpha dropped first, as the reference
 * preprocessing does (PIL's convert("RGB"), transformers.js's rgb()): the colour of a transparent
 * pixel is kept. sharp's resize premultiplies by alpha, which turns every transparent pixel black
 * (a shape on a transparent PNG scored 0.02 instead of 0.93), so the alpha goes in a pass of its
 * own, before.
 */
export async function resizeOpaque(
  image: Sharp,
  target: { width: number; height: number },
  kernel: PixelSpec['kernel'],
): Promise<{ data: Buffer; info: OutputInfo }> {
  const rgb = await image.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return sharp(rgb.data, { raw: { width: rgb.info.width, height: rgb.info.height, channels: rgb.info.channels } })
    .resize(target.width, target.height, { fit: 'fill', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
}
