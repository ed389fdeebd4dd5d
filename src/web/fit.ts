/** Where source pixels land on a page: the pure geometry of `fit` (see page-params.ts). */
import type { Fit } from './page-params.js';

/** page = source * scale + offset, per axis. */
export interface Transform {
  readonly scaleX: number;
  readonly scaleY: number;
  readonly offsetX: number;
  readonly offsetY: number;
}

export interface Size {
  readonly width: number;
  readonly height: number;
}

/**
 * The transform that puts a `source` frame onto a `target` area: `contain` letterboxes (the whole
 * frame shows, centred), `cover` fills and crops (centred), `stretch` fills and distorts.
 */
export function fitTransform(source: Size, target: Size, fit: Fit): Transform {
  const sx = target.width / source.width;
  const sy = target.height / source.height;
  if (fit === 'stretch') return { scaleX: sx, scaleY: sy, offsetX: 0, offsetY: 0 };
  const s = fit === 'contain' ? Math.min(sx, sy) : Math.max(sx, sy);
  return { scaleX: s, scaleY: s, offsetX: (target.width - source.width * s) / 2, offsetY: (target.height - source.height * s) / 2 };
}
