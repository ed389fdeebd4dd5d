/**
 * The one door to ffmpeg: the only module that imports fluent-ffmpeg or starts an ffmpeg process.
 * It runs a decode with the arguments it is given, pipes stdout into a Writable, reports stderr
 * line by line, and makes sure every process it started is gone (killed and reaped) before
 * `kill()` resolves.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { DecodeArgs } from './ffmpeg-args.js';

/** How a run ended. */
export interface FfmpegExit {
  /** Exit code; null when killed by a signal or when ffmpeg could not be started. */
  readonly code: number | null;
  /** True when our `kill()` ended it. */
  readonly killed: boolean;
  /** False when no process was started (binary missing, capability probe failed). */
  readonly spawned: boolean;
  /** fluent-ffmpeg's error text, when it ended with one (non-zero exit, signal, spawn failure). */
  readonly error?: string;
}

export interface FfmpegRun {
  /** Resolves once the process has exited and been reaped (or could not be started). */
  readonly exited: Promise<FfmpegExit>;
  /** Kills the process (SIGKILL: it holds no state worth flushing) and waits for `exited`. */
  kill(): Promise<FfmpegExit>;
}

export interface RunOptions {
  /** The ffmpeg executable (see ffmpeg-binary.ts). */
  readonly ffmpegPath: string;
  /** Receives stdout (raw frames). */
  readonly stdout: Writable;
  /** Each stderr line, as it comes. */
  readonly onStderr: (line: string) => void;
}

/** Starts ffmpeg with `args`. Never throws: a failure to start shows up in `exited`. */
export function runFfmpeg(args: DecodeArgs, options: RunOptions): FfmpegRun {
  if (!isExecutable(options.ffmpegPath)) {
    // fluent-ffmpeg 2.1.3 throws from an event handler when the spawn fails: never let it try.
    const exit: FfmpegExit = { code: null, killed: false, spawned: false, error: `ffmpeg not found or not executable: ${options.ffmpegPath}` };
    return { exited: Promise.resolve(exit), kill: async () => exit };
  }
  // fluent-ffmpeg keeps the binary path process-wide; every run sets it to the configured one.
  const command = ffmpeg({ stdoutLines: 50 }).setFfmpegPath(options.ffmpegPath);
  // Passing options as separate arguments stops fluent-ffmpeg from splitting them on spaces.
  command.input(args.input).inputOptions(...args.inputOptions).outputOptions(...args.outputOptions);
  let killRequested = false;
  let resolveExit!: (exit: FfmpegExit) => void;
  const exited = new Promise<FfmpegExit>((resolve) => (resolveExit = resolve));
  const child = () => (command as unknown as { ffmpegProc?: import('node:child_process').ChildProcess }).ffmpegProc;
  // Kept from 'start' on: fluent-ffmpeg forgets its process before it emits 'error', so asking it
  // then would say that none was ever started (and the frames still in the pipe would be thrown away).
  let proc: import('node:child_process').ChildProcess | undefined;

  command.on('stderr', (line: string) => options.onStderr(line));
  command.on('start', () => {
    proc = child();
    // kill() may come while fluent-ffmpeg is still probing capabilities, before the spawn.
    if (killRequested) proc?.kill('SIGKILL');
  });
  command.on('end', () => resolveExit({ code: 0, killed: killRequested, spawned: true }));
  command.on('error', (err: Error) => {
    const code = /exited with code (\d+)/.exec(err.message);
    resolveExit({ code: code ? Number(code[1]) : null, killed: killRequested, spawned: proc?.pid !== undefined, error: err.message });
  });
  command.output(options.stdout, { end: true });
  command.run();

  return {
    exited,
    kill: async () => {
      killRequested = true;
      const p = proc ?? child();
      if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      // A paused stdout would hold its pipe open; nothing more is read from a killed process.
      p?.stdout?.destroy();
      return exited;
    },
  };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** First line of `ffmpeg -version`, e.g. "ffmpeg version 5.1.6-0+deb12u1 …"; undefined on failure. */
export function ffmpegVersion(ffmpegPath: string): string | undefined {
  try {
    const out = execFileSync(ffmpegPath, ['-hide_banner', '-version'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}
