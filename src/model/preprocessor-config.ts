/**
 * preprocessor_config.json, checked whole: a value that groundstream cannot honour fails the load
 * with MODEL_CONFIG_INVALID naming the file, the field and the value, rather than being replaced by
 * a default (scores quietly wrong) or failing on every image later (a size of 0).
 */
import { GroundstreamError } from '../errors.js';

export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export type Kernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

/** PIL's resampling filters (the numbers in `resample`) that sharp has a kernel for. */
const KERNELS: Record<number, Kernel> = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic' };
const KERNEL_NAMES = '0 (nearest), 1 (lanczos), 2 (bilinear) or 3 (bicubic)';

export interface PixelConfig {
  /** Side S of the square the graph takes. */
  imageSize: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  kernel: Kernel;
}

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

/** Reads the fields groundstream uses from a parsed preprocessor_config.json at `file`. */
export function readPixelConfig(pre: Record<string, unknown>, file: string): PixelConfig {
  const invalid = (field: string, why: string) => new GroundstreamError('MODEL_CONFIG_INVALID', `${file}: "${field}" ${why}, got ${show(pre[field])}`);
  for (const step of ['do_resize', 'do_rescale', 'do_normalize']) {
    // groundstream always resizes, rescales to [0, 1] and normalises, as every OWL export asks
    if (pre[step] === false) throw invalid(step, 'false is not supported (groundstream always resizes, rescales and normalises)');
  }
  const factor = pre.rescale_factor;
  if (factor !== undefined && !(typeof factor === 'number' && Math.abs(factor * 255 - 1) < 1e-6)) throw invalid('rescale_factor', 'must be 1/255');
  return {
    imageSize: sizeOf(pre.size, (why) => invalid('size', why)),
    mean: triple(pre.image_mean, CLIP_MEAN, false, (why) => invalid('image_mean', why)),
    std: triple(pre.image_std, CLIP_STD, true, (why) => invalid('image_std', why)),
    kernel: kernelOf(pre.resample, (why) => invalid('resample', why)),
  };
}

function sizeOf(s: unknown, invalid: (why: string) => GroundstreamError): number {
  let side: unknown = s;
  if (s && typeof s === 'object' && !Array.isArray(s)) {
    const o = s as Record<string, unknown>;
    if (o.height !== undefined || o.width !== undefined) {
      if (o.height !== o.width) throw invalid('must be square (height equal to width)');
      side = o.height;
    } else {
      side = o.shortest_edge;
    }
  }
  if (typeof side !== 'number' || !Number.isInteger(side) || side < 1) {
    throw invalid('must be the image side in pixels, a whole number above 0 (or {"height": S, "width": S})');
  }
  return side;
}

/** Per-channel values: absent gives `fallback`, one number is used for all three channels. */
function triple(
  v: unknown,
  fallback: readonly [number, number, number],
  positive: boolean,
  invalid: (why: string) => GroundstreamError,
): readonly [number, number, number] {
  if (v === undefined) return fallback;
  const list = typeof v === 'number' ? [v, v, v] : v;
  const ok = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0);
  if (!Array.isArray(list) || list.length !== 3 || !list.every(ok)) {
    throw invalid(`must be 3 ${positive ? 'numbers above 0' : 'numbers'}, one per RGB channel`);
  }
  return list as [number, number, number];
}

function kernelOf(v: unknown, invalid: (why: string) => GroundstreamError): Kernel {
  if (v === undefined) return 'cubic'; // the reference's default for OWL
  const k = typeof v === 'number' ? KERNELS[v] : undefined;
  if (!k) throw invalid(`must be ${KERNEL_NAMES}`);
  return k;
}
