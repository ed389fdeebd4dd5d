/**
 * Viewer images (docs/protocol.md, "Viewer images"): the frame a result was computed on, as a
 * downscaled JPEG in a binary frame whose stream and seq match the result's. Per client and
 * stream, each frame goes out at most once, at the highest rate and width that client's
 * subscriptions on the stream ask for.
 *
 * The pipeline keeps frames at the model's working size (224x224, stretched, for OWL-ViT), not at
 * the source size, so the picture is that frame scaled back to the source's aspect ratio: softer
 * than the source, but exactly what the model saw.
 */
import sharp from 'sharp';
import type { FrameMeta, FramePixels } from '../pipeline/stream-pipeline.js';
import { encodeFrame, type ImageOptions, type ProtocolLimits } from '../protocol/index.js';

/** JPEG quality of viewer images (sharp's scale, 1-100). */
export const VIEWER_JPEG_QUALITY = 80;

/** Width and height of a viewer image for a source of `frame.width` x `frame.height`: at most
 * `maxWidth` wide (default and cap: the source width), keeping the source's aspect ratio. */
export function viewerImageSize(frame: { width: number; height: number }, maxWidth?: number): { width: number; height: number } {
  const width = Math.max(1, Math.min(maxWidth ?? frame.width, frame.width));
  return { width, height: Math.max(1, Math.round((width * frame.height) / frame.width)) };
}

/** The binary frame (header + JPEG) carrying `pixels` as the viewer image of `frame`. */
export async function encodeViewerImage(
  stream: string,
  frame: FrameMeta,
  pixels: FramePixels,
  maxWidth: number | undefined,
  limits: ProtocolLimits,
): Promise<Uint8Array> {
  const size = viewerImageSize(frame, maxWidth);
  const jpeg = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill' })
    .jpeg({ quality: VIEWER_JPEG_QUALITY })
    .toBuffer();
  return encodeFrame({ stream, seq: frame.seq, capturedAt: frame.capturedAt, format: 'jpeg' }, jpeg, limits);
}

/**
 * Decides, for one client, which frames go out as images. State per stream: the last frame sent,
 * when, and whether an encode is still running (then newer frames are skipped rather than queued,
 * so a slow encoder never delays results).
 */
export class ImageGate {
  private readonly streams = new Map<string, { seq: number; at: number; busy: boolean }>();

  /** `now`: clock in ms (tests pass a fake one). */
  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Whether frame `seq` of `stream` goes out as an image, given the image options of the client's
   * subscriptions on that stream; returns the width to send it at (undefined: source width), or
   * null. A `maxRate` left unset means every frame. A frame taken must be released with done().
   */
  take(stream: string, seq: number, wants: readonly ImageOptions[]): { maxWidth: number | undefined } | null {
    if (wants.length === 0) return null;
    const last = this.streams.get(stream);
    if (last && (last.busy || last.seq === seq)) return null;
    const rates = wants.map((w) => w.maxRate ?? Infinity);
    // a little slack, so that frames arriving at exactly the rate are not halved by timer jitter
    const gap = (1000 / Math.max(...rates)) * 0.95;
    const now = this.now();
    if (last && now - last.at < gap) return null;
    this.streams.set(stream, { seq, at: now, busy: true });
    const widths = wants.map((w) => w.maxWidth);
    return { maxWidth: widths.includes(undefined) ? undefined : Math.max(...(widths as number[])) };
  }

  /** The image taken for `stream` was sent (or failed). */
  done(stream: string): void {
    const s = this.streams.get(stream);
    if (s) s.busy = false;
  }
}
