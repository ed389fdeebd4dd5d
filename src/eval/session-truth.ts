/**
 * Finds what `eval --session` scores a recording against: the recorded source clip and the truth
 * file beside it. The header names the source as the server was given it (relative to the
 * server's working directory, or inside the fixtures, as the demo's `clips/…`), never as an
 * absolute path the server would have to leak, so the file is looked for in every place that
 * spelling can mean here; and the clip's length in frames, for matching a looping stream's `seq`.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { GroundstreamError } from '../errors.js';
import type { Session } from '../record/read-session.js';
import { clipFrameCount } from './clip-frame-count.js';
import { truthPathFor, type Truth } from './shapes-world.js';

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
/** A URL (`rtsp://…`), `push` or a device is no file with truth beside it. */
const isFileName = (src: string) => !/^[a-z][a-z0-9+.-]*:/i.test(src) && /\.[^./\\]+$/.test(src);

/** The directory a path is in and every directory above it. */
function dirsUp(from: string): string[] {
  const out: string[] = [];
  for (let d = resolve(from); !out.includes(d); d = dirname(d)) out.push(d);
  return out;
}

/**
 * Where a recorded source `src` may be, most likely first: as given from here; from the
 * recording's directory and each one above it (a server started in the project, recordings in a
 * folder of it); inside the fixtures, with or without a leading `fixtures/`.
 */
export function sourceCandidates(src: string, recordingDir: string, fixturesDir: string): string[] {
  if (isAbsolute(src)) return [src];
  const inFixtures = src.replace(/^(\.\/)?fixtures[/\\]/, '');
  const all = [resolve(src), ...dirsUp(recordingDir).map((d) => join(d, src)), join(fixturesDir, src), join(fixturesDir, inFixtures)];
  return [...new Set(all)];
}

export interface SessionClip {
  /** The truth file to score against. */
  readonly truth: string;
  /** The clip, when it is readable here (for its frame count). */
  readonly clip?: string;
}

/**
 * The truth (and clip) of a recording: `given` (--truth) if any, else the `.truth.json` beside
 * the recorded source, wherever sourceCandidates finds it. Throws CONFIG_INVALID listing the
 * places looked in.
 */
export function findSessionClip(session: Session, given: string | undefined, path: string, fixturesDir: string): SessionClip {
  const src = session.header.source?.source;
  const candidates = src && isFileName(src) ? sourceCandidates(src, dirname(session.files[0]!), fixturesDir) : [];
  const clip = candidates.find(isFile);
  if (given) return { truth: given, ...(clip ? { clip } : besideTruth(given)) };
  const found = candidates.find((c) => isFile(truthPathFor(c)));
  if (found) return { truth: truthPathFor(found), ...(isFile(found) ? { clip: found } : {}) };
  const why = !src ? 'the recording does not name its source' : !candidates.length ? `the recorded source ${JSON.stringify(src)} is not a file` : `no truth file for the recorded source ${JSON.stringify(src)}; looked for ${candidates.map(truthPathFor).join(', ')}`;
  throw new GroundstreamError('CONFIG_INVALID', `${path}: give --truth (${why})`);
}

const VIDEO_EXTS = ['.mp4', '.mkv', '.webm', '.mov', '.avi', '.m4v'];

/** The clip a truth file is for, by SHAPES_WORLD.md's naming (`<clip>.truth.json`), if it is here. */
function besideTruth(truth: string): { clip?: string } {
  const stem = truth.replace(/\.truth\.json$/, '');
  if (stem === truth) return {};
  const clip = VIDEO_EXTS.map((e) => stem + e).find(isFile);
  return clip ? { clip } : {};
}

/**
 * The clip's length in frames when scoring needs it and the truth does not say it: results past
 * the truth's highest index (a looping source) and a clip to count. Undefined otherwise, which
 * evaluateSession refuses only if such results are there.
 */
export async function sessionFrameCount(session: Session, truth: Truth, clip: string | undefined): Promise<number | undefined> {
  if (truth.frameCount !== undefined || !clip) return undefined;
  const annotated = truth.frames.reduce((m, f) => Math.max(m, f.index + 1), 0);
  const past = session.results.some((r) => r.message.frame.seq >= annotated);
  return past ? clipFrameCount(clip) : undefined;
}
