/**
 * Which ffmpeg binary to run. In order: an explicit override (config, or the GROUNDSTREAM_FFMPEG
 * environment variable), `ffmpeg` on PATH, then the static build shipped by
 * @ffmpeg-installer/ffmpeg (an old 4.1 build, so that `npm install` alone is enough). Other
 * modules (eval, record) call `ffmpegPath()` to run the same binary.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { GroundstreamError } from '../errors.js';

/** Environment variable naming the ffmpeg binary; the config module may pass it as `override`. */
export const FFMPEG_ENV = 'GROUNDSTREAM_FFMPEG';

/** Where the binary came from: `override` (config or environment), `path`, or `bundled`. */
export type FfmpegOrigin = 'override' | 'path' | 'bundled';

export interface FfmpegBinary {
  /** Absolute path of the executable. */
  readonly path: string;
  readonly origin: FfmpegOrigin;
}

export interface ResolveFfmpegOptions {
  /** Path or command name given by the operator; wins over everything else. */
  readonly override?: string;
  /** Environment to read GROUNDSTREAM_FFMPEG and PATH from. Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Skip PATH (e.g. to force the bundled build in tests). Default false. */
  readonly skipPath?: boolean;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = resolve(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** The binary of @ffmpeg-installer/ffmpeg, or undefined where the platform has none. */
export function bundledFfmpeg(): string | undefined {
  try {
    // CommonJS package that throws (a string) on unsupported platforms.
    const pkg = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    return isExecutable(pkg.path) ? pkg.path : undefined;
  } catch {
    return undefined;
  }
}

/** Finds ffmpeg (see the module comment); INGEST_FFMPEG_NOT_FOUND when there is none. */
export function resolveFfmpeg(options: ResolveFfmpegOptions = {}): FfmpegBinary {
  const env = options.env ?? process.env;
  const override = options.override ?? env[FFMPEG_ENV];
  if (override) {
    const p = override.includes('/') ? (isAbsolute(override) ? override : resolve(override)) : onPath(override, env.PATH);
    if (p && isExecutable(p)) return { path: p, origin: 'override' };
    throw new GroundstreamError('INGEST_FFMPEG_NOT_FOUND', `${override} (from ${options.override ? 'config' : FFMPEG_ENV})`);
  }
  const fromPath = options.skipPath ? undefined : onPath('ffmpeg', env.PATH);
  if (fromPath) return { path: fromPath, origin: 'path' };
  const bundled = bundledFfmpeg();
  if (bundled) return { path: bundled, origin: 'bundled' };
  throw new GroundstreamError('INGEST_FFMPEG_NOT_FOUND', 'not on PATH and @ffmpeg-installer/ffmpeg has no binary for this platform');
}

let chosen: FfmpegBinary | undefined;

/** Sets the process-wide ffmpeg (call once, at startup, from config). Returns what was chosen. */
export function configureFfmpeg(options: ResolveFfmpegOptions = {}): FfmpegBinary {
  chosen = resolveFfmpeg(options);
  return chosen;
}

/** The process-wide ffmpeg binary, resolved with defaults on first use. */
export function ffmpegBinary(): FfmpegBinary {
  chosen ??= resolveFfmpeg();
  return chosen;
}

/** Path of the process-wide ffmpeg, for modules that run it themselves (eval, record). */
export function ffmpegPath(): string {
  return ffmpegBinary().path;
}
