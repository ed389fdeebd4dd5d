import { describe, expect, it } from 'vitest';
import { FfmpegLog, parseVideoStream, snapFps } from '../../src/ingest/ffmpeg-log.js';

// Headers as printed by the bundled 4.1 build and by ffmpeg 5.1, for the same clip.
const HEADER_41 = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/clip.mp4':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 52 kb/s
    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 320x240 [SAR 1:1 DAR 4:3], 45 kb/s, 30 fps, 30 tbr, 15360 tbn, 60 tbc (default)
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))
Press [q] to stop, [?] for help
Output #0, rawvideo, to 'pipe:1':
    Stream #0:0(und): Video: rawvideo (RGB[24] / 0x18424752), rgb24, 64x48 [SAR 1:1 DAR 4:3], q=2-31, 2211 kb/s, 30 fps, 30 tbn, 30 tbc (default)`;
const HEADER_51 = `-vsync is deprecated. Use -fps_mode
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/clip.mp4':
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], 45 kb/s, 29.97 fps, 29.97 tbr, 15360 tbn (default)
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))
Output #0, rawvideo, to 'pipe:1':
  Stream #0:0(und): Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/unknown/unknown, progressive), 224x224 [SAR 1:1 DAR 1:1], q=2-31, 2211 kb/s, 29.97 fps, 29.97 tbn (default)`;

function feed(text: string): { log: FfmpegLog; completedAt: number } {
  const log = new FfmpegLog();
  let completedAt = -1;
  text.split('\n').forEach((line, i) => {
    if (log.push(line)) completedAt = i;
  });
  return { log, completedAt };
}

describe('ffmpeg stderr', () => {
  it('reads source size, output size and rate from the 4.1 header', () => {
    const { log, completedAt } = feed(HEADER_41);
    expect(log.input).toEqual({ width: 320, height: 240, fps: 30 });
    expect(log.output).toEqual({ width: 64, height: 48, fps: 30 });
    expect(completedAt).toBe(7);
  });

  it('reads the 5.x header, and snaps 29.97 back to 30000/1001', () => {
    const { log } = feed(HEADER_51);
    expect(log.input).toMatchObject({ width: 1280, height: 720 });
    expect(log.output).toEqual({ width: 224, height: 224, fps: 30000 / 1001 });
    expect(log.summary()).toBe(''); // header and deprecation notices are not news
  });

  it('reads the size upright when the input carries a 90 or 270 degree display rotation (a phone clip)', () => {
    const rotated = (degrees: string, indent: string) => `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'rot.mp4':
${indent}Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 320x180 [SAR 1:1 DAR 16:9], 48 kb/s, 30 fps, 30 tbr, 15360 tbn (default)
    Metadata:
      handler_name    : VideoHandler
    Side data:
      displaymatrix: rotation of ${degrees} degrees
${indent}Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s (default)
    Side data:
      displaymatrix: rotation of 45.00 degrees
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))
Output #0, rawvideo, to 'pipe:1':
${indent}Stream #0:0(und): Video: rawvideo (RGB[24] / 0x18424752), rgb24, 180x320 [SAR 1:1 DAR 9:16], q=2-31, 41472 kb/s, 30 fps, 30 tbn (default)
    Side data:
      displaymatrix: rotation of -0.00 degrees`;
    for (const [deg, upright] of [['90.00', [180, 320]], ['-90.00', [180, 320]], ['270.00', [180, 320]], ['180.00', [320, 180]], ['-0.00', [320, 180]]] as const) {
      for (const indent of ['  ', '    ']) {
        const { log } = feed(rotated(deg, indent));
        expect([log.input?.width, log.input?.height], `${deg} degrees`).toEqual(upright);
        expect(log.output).toMatchObject({ width: 180, height: 320 });
      }
    }
  });

  it('ignores streams that are not video and sizes that are codec tags', () => {
    expect(parseVideoStream('  Stream #0:1(und): Audio: aac (LC), 44100 Hz, stereo')).toBeUndefined();
    expect(parseVideoStream('  Stream #0:0: Video: rawvideo (YUY2 / 0x32595559), yuyv422, 640x480, 147456 kb/s, 30 fps, 30 tbr')).toEqual({
      width: 640,
      height: 480,
      fps: 30,
    });
    expect(parseVideoStream('  Stream #0:0: Video: h264, yuv420p, 1920x1080, 90k tbr, 90k tbn')).toEqual({ width: 1920, height: 1080, fps: 90_000 });
  });

  it('keeps exact rates exact', () => {
    expect(snapFps(30)).toBe(30);
    expect(snapFps(25)).toBe(25);
    expect(snapFps(23.98)).toBe(24000 / 1001);
    expect(snapFps(59.94)).toBe(60000 / 1001);
    expect(snapFps(12.5)).toBe(12.5);
  });

  it('summarises the error lines, without pointers or passwords', () => {
    const log = new FfmpegLog();
    for (const line of [
      "Input #0, rtsp, from 'rtsp://admin:hunter2@cam.local/stream':",
      '[tcp @ 0x55d432484400] Connection to tcp://cam.local:554 failed: Connection refused',
      '[tcp @ 0x55d432484400] Connection to tcp://cam.local:554 failed: Connection refused',
      'rtsp://admin:hunter2@cam.local/stream: Connection refused',
      'frame=   10 fps=0.0 q=-0.0 size=N/A time=00:00:00.33',
    ]) {
      log.push(line);
    }
    const s = log.summary();
    expect(s).toBe('[tcp] Connection to tcp://cam.local:554 failed: Connection refused | rtsp://***@cam.local/stream: Connection refused');
    expect(s).not.toContain('hunter2');
  });
});
