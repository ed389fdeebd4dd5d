/** Test helpers for ingest: clips made at test time, a process-table check, status recording. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import type { Frame } from '../../src/domain/types.js';
import type { FrameSource, SourceState, SourceStatus } from '../../src/ingest/index.js';

export function tempDir(prefix = 'gs-ingest-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ClipSpec {
  readonly width: number;
  readonly height: number;
  readonly fps?: number;
  readonly seconds: number;
  /** 'mp4' (default) or 'ts' (streamable, for the HTTP server). */
  readonly container?: 'mp4' | 'ts';
  /** Keyframe interval in frames. Default 15. */
  readonly gop?: number;
}

/** Encodes an H.264 testsrc clip with `ffmpeg` (the binary under test) and returns its path. */
export function makeClip(ffmpeg: string, dir: string, name: string, spec: ClipSpec): string {
  const fps = spec.fps ?? 30;
  const out = join(dir, name);
  const base = [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=${spec.width}x${spec.height}:rate=${fps}:duration=${spec.seconds}`,
    '-pix_fmt', 'yuv420p', '-g', String(spec.gop ?? 15),
  ];
  const container = spec.container === 'ts' ? ['-f', 'mpegts'] : ['-movflags', '+faststart'];
  try {
    execFileSync(ffmpeg, [...base, '-c:v', 'libx264', '-preset', 'ultrafast', ...container, out], { stdio: 'pipe' });
  } catch {
    // Builds without libx264 still have the native MPEG-4 encoder.
    execFileSync(ffmpeg, [...base, '-c:v', 'mpeg4', ...container, out], { stdio: 'pipe' });
  }
  return out;
}

/** What ffmpeg itself writes for the clip at the working size: the independent reference. */
export function referenceFrames(ffmpeg: string, clip: string, width: number, height: number): Buffer {
  return execFileSync(
    ffmpeg,
    ['-nostdin', '-loglevel', 'error', '-i', clip, '-vf', `scale=${width}:${height}:flags=bilinear`, '-pix_fmt', 'rgb24', '-vsync', 'cfr', '-f', 'rawvideo', 'pipe:1'],
    { maxBuffer: 1 << 30 },
  );
}

export interface ChildProcessInfo {
  readonly pid: number;
  readonly comm: string;
  readonly state: string;
}

/** Children of this test process that are ffmpeg (alive or zombie) or any zombie, from /proc. */
export function leftoverChildren(): ChildProcessInfo[] {
  const out: ChildProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (Number(ppid) === process.pid && (comm.includes('ffmpeg') || state === 'Z')) {
      out.push({ pid: Number(entry), comm, state: state ?? '?' });
    }
  }
  return out;
}

/** Resolves with the first status in `state` (the current one counts). */
export function waitForState(source: FrameSource, state: SourceState, also: (s: SourceStatus) => boolean = () => true): Promise<SourceStatus> {
  return firstValueFrom(source.status$.pipe(filter((s) => s.state === state && also(s))));
}

/** Records every status and frame of a source from now on. */
export function record(source: FrameSource): { statuses: SourceStatus[]; frames: Frame[]; framesDone: Promise<void> } {
  const statuses: SourceStatus[] = [];
  const frames: Frame[] = [];
  source.status$.subscribe((s) => statuses.push(s));
  const framesDone = new Promise<void>((resolve) => source.frames$.subscribe({ next: (f) => frames.push(f), complete: resolve }));
  return { statuses, frames, framesDone };
}

/** Resolves once `frames` holds at least `n` items, checking on every emission. */
export function untilCount<T>(frames$: Observable<T>, items: readonly T[], n: number): Promise<void> {
  if (items.length >= n) return Promise.resolve();
  return new Promise((resolve) => {
    const sub = frames$.subscribe({
      next: () => {
        if (items.length >= n) {
          sub.unsubscribe();
          resolve();
        }
      },
      complete: () => resolve(),
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
