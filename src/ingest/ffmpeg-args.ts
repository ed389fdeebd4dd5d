/**
 * ffmpeg's command line for one decode, built from a resolved input and the working size. Pure.
 * Every flag here works with ffmpeg 4.1 (the bundled build) and 5.x/6.x.
 */
import { GroundstreamError } from '../errors.js';
import { validateWorkingSize, type WorkingSize } from './frame-source.js';
import type { ResolvedInput } from './url-policy.js';

export interface DecodeArgs {
  /** ffmpeg's -i argument. */
  readonly input: string;
  /** Options before -i (global and input options). */
  readonly inputOptions: readonly string[];
  /** Options before the output (pipe:1). */
  readonly outputOptions: readonly string[];
}

export interface DecodeOptions {
  readonly size?: WorkingSize;
  /** Read the file again and again (files only). Default false. */
  readonly loop?: boolean;
  /** swscale algorithm used to scale to the working size. Default 'bilinear' (fast, and what the
   * models' own resize uses). */
  readonly scaler?: 'fast_bilinear' | 'bilinear' | 'bicubic' | 'area' | 'lanczos';
  /** HTTP(S) only: the Host header to send, when the URL names an address that stands for a host
   * name (host-pin.ts). */
  readonly hostHeader?: string;
}

/** The scale filter for a working size, or undefined to keep the source's size. */
export function scaleFilter(size: WorkingSize | undefined, scaler = 'bilinear'): string | undefined {
  validateWorkingSize(size);
  if (!size || (size.width === undefined && size.height === undefined)) return undefined;
  const w = size.width ?? -1;
  const h = size.height ?? -1;
  const keep = size.fit === 'inside' && w > 0 && h > 0 ? ':force_original_aspect_ratio=decrease' : '';
  return `scale=${w}:${h}${keep}:flags=${scaler}`;
}

/** The size frames will have when it does not depend on the source (both sides, stretch). */
export function fixedOutputSize(size: WorkingSize | undefined): { width: number; height: number } | undefined {
  if (size?.width === undefined || size.height === undefined || size.fit === 'inside') return undefined;
  return { width: size.width, height: size.height };
}

export function buildDecodeArgs(input: ResolvedInput, options: DecodeOptions = {}): DecodeArgs {
  const inputOptions: string[] = [
    '-nostdin',
    '-hide_banner',
    '-nostats',
    // `info` is needed: the stream header on stderr tells the frame size and rate.
    '-loglevel', 'info',
    '-protocol_whitelist', input.protocols.join(','),
  ];
  if (input.formats) inputOptions.push('-format_whitelist', input.formats.join(','));
  if (options.loop && input.kind === 'file') inputOptions.push('-stream_loop', '-1');
  if (input.rtspTransport) inputOptions.push('-rtsp_transport', input.rtspTransport);
  // (http and https, also nested, as in `hls+https://`)
  const http = /^(?:[a-z0-9.-]+\+)*https?:/i.test(input.target);
  // A live stream over HTTP (MPEG-TS, HLS) has no header that lists its streams, so ffmpeg reads it
  // for its whole analyzeduration (5 s by default) before the first frame; half a second is enough
  // to find a video stream's codec. Where the codec's parameters are not in that half second
  // (joined mid-GOP: no SPS before the next keyframe), ffmpeg reads on until they are (measured:
  // ffmpeg 5.1 and the bundled 4.1, a 2 s wait for a keyframe gave its first frame 4.5 s sooner
  // than the default). RTSP (SDP) and MJPEG are not held up by it either way.
  if (input.kind === 'url' && input.live && http) inputOptions.push('-analyzeduration', '500000');
  if (options.hostHeader !== undefined && http) {
    if (/[\r\n]/.test(options.hostHeader)) throw new GroundstreamError('INGEST_SOURCE_INVALID', 'a host name with a line break');
    inputOptions.push('-headers', `Host: ${options.hostHeader}\r\n`);
  }
  if (input.kind === 'device') {
    inputOptions.push('-f', 'video4linux2');
    const d = input.device ?? {};
    if (d.inputFormat) inputOptions.push('-input_format', d.inputFormat);
    if (d.videoSize) inputOptions.push('-video_size', d.videoSize);
    if (d.framerate) inputOptions.push('-framerate', String(d.framerate));
  }

  const filter = scaleFilter(options.size, options.scaler);
  const outputOptions: string[] = [
    '-map', '0:v:0',
    '-an', '-sn', '-dn',
    ...(filter ? ['-vf', filter] : []),
    // One swscale pass scales and converts to RGB: the filter's output is negotiated to rgb24.
    '-pix_fmt', 'rgb24',
    // Files: constant rate, so frame n is at n / fps exactly. Live: pass frames as they come;
    // cfr would fill a network hiccup with a burst of duplicates.
    '-vsync', input.live ? 'passthrough' : 'cfr',
    '-f', 'rawvideo',
  ];
  return { input: input.target, inputOptions, outputOptions };
}
