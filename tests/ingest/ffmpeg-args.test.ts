import { describe, expect, it } from 'vitest';
import { buildDecodeArgs, fixedOutputSize, scaleFilter } from '../../src/ingest/ffmpeg-args.js';
import type { ResolvedInput } from '../../src/ingest/url-policy.js';

const file: ResolvedInput = { kind: 'file', target: 'file:/c/a.mp4', protocols: ['file'], formats: ['mov', 'mpegts'], live: false, display: '/c/a.mp4' };
const rtsp: ResolvedInput = { kind: 'url', target: 'rtsp://cam/s', protocols: ['rtsp', 'tcp'], live: true, rtspTransport: 'udp', display: 'rtsp://cam/s' };

/** The value following `flag` in `args`. */
const after = (args: readonly string[], flag: string) => args[args.indexOf(flag) + 1];

describe('ffmpeg arguments', () => {
  it('scales in ffmpeg and converts to RGB in the same pass', () => {
    expect(scaleFilter({ width: 224, height: 224 })).toBe('scale=224:224:flags=bilinear');
    expect(scaleFilter({ width: 320 })).toBe('scale=320:-1:flags=bilinear');
    expect(scaleFilter({ width: 640, height: 640, fit: 'inside' }, 'area')).toBe('scale=640:640:force_original_aspect_ratio=decrease:flags=area');
    expect(scaleFilter(undefined)).toBeUndefined();
    expect(() => scaleFilter({ width: 0 })).toThrow(expect.objectContaining({ code: 'INGEST_SOURCE_INVALID' }));
    expect(() => scaleFilter({ width: 10, fit: 'cover' as never })).toThrow(expect.objectContaining({ code: 'INGEST_SOURCE_INVALID' }));
    expect(fixedOutputSize({ width: 224, height: 224 })).toEqual({ width: 224, height: 224 });
    expect(fixedOutputSize({ width: 224, height: 224, fit: 'inside' })).toBeUndefined();
  });

  it('reads a file through the file protocol and its demuxer allow-list, at constant rate', () => {
    const a = buildDecodeArgs(file, { size: { width: 64, height: 48 }, loop: true });
    expect(a.input).toBe('file:/c/a.mp4');
    expect(after(a.inputOptions, '-protocol_whitelist')).toBe('file');
    expect(after(a.inputOptions, '-format_whitelist')).toBe('mov,mpegts');
    expect(after(a.inputOptions, '-stream_loop')).toBe('-1');
    expect(after(a.outputOptions, '-vf')).toBe('scale=64:48:flags=bilinear');
    expect(after(a.outputOptions, '-pix_fmt')).toBe('rgb24');
    expect(after(a.outputOptions, '-vsync')).toBe('cfr');
    expect(after(a.outputOptions, '-f')).toBe('rawvideo');
    expect(a.inputOptions).toContain('-nostdin');
  });

  it('passes live frames through as they come, over the chosen RTSP transport', () => {
    const a = buildDecodeArgs(rtsp, { loop: true });
    expect(after(a.inputOptions, '-rtsp_transport')).toBe('udp');
    expect(after(a.outputOptions, '-vsync')).toBe('passthrough');
    expect(a.inputOptions).not.toContain('-stream_loop');
    expect(a.outputOptions).not.toContain('-vf');
  });

  it('probes a live stream over HTTP for half a second, not the 5 s ffmpeg would; nothing else', () => {
    const http = (target: string, live: boolean): ResolvedInput => ({ kind: 'url', target, protocols: ['http', 'tcp'], live, display: target });
    expect(after(buildDecodeArgs(http('http://cam/live.ts', true)).inputOptions, '-analyzeduration')).toBe('500000');
    expect(after(buildDecodeArgs(http('hls+https://cam/live.m3u8', true)).inputOptions, '-analyzeduration')).toBe('500000');
    // a video file over HTTP, RTSP (its SDP lists the streams), files: ffmpeg's default
    for (const input of [http('http://cam/clip.mp4', false), rtsp, file]) expect(buildDecodeArgs(input).inputOptions).not.toContain('-analyzeduration');
  });

  it('opens V4L2 devices with their capture options', () => {
    const dev: ResolvedInput = {
      kind: 'device',
      target: '/dev/video0',
      protocols: ['file'],
      live: true,
      device: { inputFormat: 'mjpeg', videoSize: '1280x720', framerate: 30 },
      display: '/dev/video0',
    };
    const a = buildDecodeArgs(dev);
    expect(after(a.inputOptions, '-f')).toBe('video4linux2');
    expect(after(a.inputOptions, '-input_format')).toBe('mjpeg');
    expect(after(a.inputOptions, '-video_size')).toBe('1280x720');
    expect(after(a.inputOptions, '-framerate')).toBe('30');
  });
});
