/**
 * `groundstream eval <clip.mp4...>`: SHAPES_WORLD.md's scores for a model on clips with truth;
 * `groundstream eval --session <recording>`: the same scores for what a live run produced.
 */
import { existsSync, readFileSync } from 'node:fs';
import { GroundstreamError } from '../errors.js';
import { normalizeQuery } from '../domain/query.js';
import { Scorer, type Scores } from '../eval/average-precision.js';
import { evaluateClip, type ClipEvaluation } from '../eval/evaluate-clip.js';
import { evaluateSession, type SessionEvaluation } from '../eval/evaluate-session.js';
import { scoringQueries, type Truth } from '../eval/shapes-world.js';
import { loadModel } from '../model/index.js';
import { readSession, type Session } from '../record/read-session.js';
import { modelOptionsFrom, type ModelFlags } from './model-flags.js';

export interface EvalFlags extends ModelFlags {
  truth?: string[];
  queries?: string[];
  threshold?: number;
  json?: boolean;
  /** Recordings to score instead of running the model (one --truth each, unless the recorded source has one beside it). */
  session?: string[];
}

export function readTruth(path: string): Truth {
  if (!existsSync(path)) throw new GroundstreamError('CONFIG_INVALID', `truth file not found: ${path}`);
  const t = JSON.parse(readFileSync(path, 'utf8')) as Truth;
  if (!Array.isArray(t.frames)) throw new GroundstreamError('CONFIG_INVALID', `${path}: no "frames" list`);
  return t;
}

const fmt = (v: number | null, d = 3) => (v === null ? 'n/a' : v.toFixed(d));

function summary(name: string, s: Scores & { framesPerSecond?: number }): string {
  return `${name.padEnd(40)} mAP50 ${fmt(s.mAP50)}  held-out ${fmt(s.heldOutMAP50)}  absent-FP ${fmt(s.absentFalsePositiveRate, 4)}  recall ${fmt(s.recallAtThreshold)}${s.framesPerSecond ? `  ${s.framesPerSecond.toFixed(0)} fps` : ''}`;
}

function progress(err: NodeJS.WriteStream, name: string) {
  if (!err.isTTY) return undefined;
  return (done: number, total: number) => {
    const w = 30;
    const k = Math.min(w, Math.round((done / Math.max(1, total)) * w));
    err.write(`\r${name.slice(0, 30).padEnd(30)} [${'#'.repeat(k)}${'.'.repeat(w - k)}] ${done}/${total}`);
    if (done >= total) err.write('\r\x1b[K');
  };
}

export async function runEval(clips: string[], flags: EvalFlags, out = process.stdout, err = process.stderr): Promise<number> {
  if (flags.session?.length) {
    if (clips.length) throw new GroundstreamError('CONFIG_INVALID', 'give clips or --session recordings, not both');
    return runEvalSessions(flags.session, flags, out);
  }
  if (!clips.length) throw new GroundstreamError('CONFIG_INVALID', 'give at least one clip (or --session)');
  const truths = clips.map((c, i) => flags.truth?.[i] ?? c.replace(/\.[^./]+$/, '.truth.json'));
  if (flags.truth && flags.truth.length !== clips.length) {
    throw new GroundstreamError('CONFIG_INVALID', `give one --truth per clip (${clips.length} clips, ${flags.truth.length} truths)`);
  }
  const model = await loadModel(flags.model, modelOptionsFrom(flags));
  try {
    const queries = flags.queries?.length ? customQueries(flags.queries) : scoringQueries();
    const threshold = flags.threshold ?? model.info.threshold;
    const overall = new Scorer(queries, threshold);
    const perClip: Record<string, ClipEvaluation> = {};
    let frames = 0;
    let seconds = 0;
    for (const [i, clip] of clips.entries()) {
      const truth = readTruth(truths[i]!);
      const r = await evaluateClip(model, clip, truth, { queries, threshold, scorer: overall, onFrame: progress(err, clip) });
      perClip[clip] = r;
      frames += r.decodedFrames;
      seconds += r.decodedFrames / r.framesPerSecond;
      if (!flags.json) out.write(`${summary(clip, r)}\n`);
    }
    const all = { ...overall.result(), framesPerSecond: frames / seconds };
    const perClipMean = meanOverClips(Object.values(perClip));
    if (flags.json) {
      out.write(`${JSON.stringify({ model: model.info.name, threshold, ...all, meanOverClips: perClipMean, clips: perClip })}\n`);
    } else {
      out.write(`${summary('overall', all)}\n`);
      // SHAPES_WORLD.md defines mAP per clip; "overall" pools every frame of every clip into one
      // ranking per query (stricter: a query's boxes in one clip compete with its objects in another)
      out.write(`mean over clips: mAP50 ${fmt(perClipMean.mAP50)}, seen ${fmt(perClipMean.seenMAP50)}, held-out ${fmt(perClipMean.heldOutMAP50)}\n`);
      const low = Object.entries(all.perQuery).filter(([, v]) => v !== null).sort((a, b) => a[1]! - b[1]!).slice(0, 5);
      out.write(`lowest AP: ${low.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`);
    }
    return 0;
  } finally {
    await model.close();
  }
}

/** Queries given on the command line, normalised as the model normalises its labels (case,
 * spaces, Unicode form), without repeats. */
function customQueries(given: readonly string[]): string[] {
  return [...new Set(given.map(normalizeQuery).filter((q) => q.length > 0))];
}

/** Each of mAP50, seen and held-out averaged over the clips that have it (SHAPES_WORLD.md's
 * per-clip definition, as opposed to the pooled "overall"). */
function meanOverClips(clips: readonly Scores[]): { mAP50: number | null; seenMAP50: number | null; heldOutMAP50: number | null } {
  const mean = (pick: (s: Scores) => number | null) => {
    const v = clips.map(pick).filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  return { mAP50: mean((s) => s.mAP50), seenMAP50: mean((s) => s.seenMAP50), heldOutMAP50: mean((s) => s.heldOutMAP50) };
}

/** The truth of a recording: --truth, else the one beside the recorded stream's file source. */
function sessionTruthPath(session: Session, given: string | undefined, path: string): string {
  if (given) return given;
  const src = session.header.source?.source;
  const beside = src && /\.[^./]+$/.test(src) ? src.replace(/\.[^./]+$/, '.truth.json') : undefined;
  if (beside && existsSync(beside)) return beside;
  throw new GroundstreamError('CONFIG_INVALID', `${path}: give --truth (the recorded source ${src ? JSON.stringify(src) : 'is unknown'} has no truth file beside it)`);
}

/**
 * Scores recorded results instead of running a model. Queries default to the recorded ones and
 * the operating threshold to the highest recorded threshold: nothing below it was recorded, so
 * a lower one is refused, and so are queries the recording did not ask for.
 */
export async function runEvalSessions(paths: string[], flags: EvalFlags, out = process.stdout): Promise<number> {
  if (flags.truth && flags.truth.length !== paths.length) {
    throw new GroundstreamError('CONFIG_INVALID', `give one --truth per session (${paths.length} sessions, ${flags.truth.length} truths)`);
  }
  const sessions = paths.map((p) => readSession(p));
  const recorded = Math.max(...sessions.map((s) => s.header.threshold));
  const threshold = flags.threshold ?? recorded;
  if (threshold < recorded) {
    throw new GroundstreamError('CONFIG_INVALID', `--threshold ${threshold} is below the recorded threshold ${recorded}: nothing under it was recorded`);
  }
  const queries = flags.queries?.length ? customQueries(flags.queries) : [...new Set(sessions.flatMap((s) => s.header.queries))];
  for (const [i, s] of sessions.entries()) {
    const missing = queries.filter((q) => !s.header.queries.includes(q));
    if (missing.length) throw new GroundstreamError('CONFIG_INVALID', `${paths[i]} did not record ${missing.map((q) => JSON.stringify(q)).join(', ')}`);
  }
  const overall = new Scorer(queries, threshold);
  const perSession: Record<string, SessionEvaluation> = {};
  for (const [i, s] of sessions.entries()) {
    const truth = readTruth(sessionTruthPath(s, flags.truth?.[i], paths[i]!));
    const r = evaluateSession(s.results.map((x) => x.message), truth, { queries, threshold, scorer: overall });
    perSession[paths[i]!] = r;
    if (!flags.json) out.write(`${summary(paths[i]!, r)}  ${r.frames} frames\n`);
  }
  const all = overall.result();
  if (flags.json) {
    out.write(`${JSON.stringify({ model: sessions[0]!.header.server.model.name, threshold, ...all, sessions: perSession })}\n`);
  } else {
    out.write(`${summary('overall', all)}\n`);
    const low = Object.entries(all.perQuery).filter(([, v]) => v !== null).sort((a, b) => a[1]! - b[1]!).slice(0, 5);
    out.write(`lowest AP: ${low.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`);
  }
  return 0;
}
