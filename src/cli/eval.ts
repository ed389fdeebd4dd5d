/**
 * `groundstream eval <clip.mp4...>`: SHAPES_WORLD.md's scores for a model on clips with truth;
 * `groundstream eval --session <recording>`: the same scores for what a live run produced.
 */
import { existsSync, realpathSync } from 'node:fs';
import { GroundstreamError } from '../errors.js';
import { normalizeQuery } from '../domain/query.js';
import { Scorer, type Scores } from '../eval/average-precision.js';
import { evaluateClip, type ClipEvaluation } from '../eval/evaluate-clip.js';
import { evaluateSession, type SessionEvaluation } from '../eval/evaluate-session.js';
import { findSessionClip, sessionFrameCount } from '../eval/session-truth.js';
import { sessionWarnings } from '../eval/session-warnings.js';
import { scoringQueries, truthPathFor } from '../eval/shapes-world.js';
import { readTruth } from '../eval/truth-file.js';
import { loadModel } from '../model/index.js';
import { readSession } from '../record/read-session.js';
import { modelOptionsFrom, type ModelFlags } from './model-flags.js';
import { FIXTURES_DIR } from './serve.js';

export interface EvalFlags extends ModelFlags {
  truth?: string[];
  /** --queries (variadic: it takes every word up to the next flag, so it goes after the clips). */
  queries?: string[];
  /** -q/--query, repeatable: one query each. */
  query?: string[];
  threshold?: number;
  json?: boolean;
  /** Recordings to score instead of running the model (one --truth each, unless the recorded source has one beside it). */
  session?: string[];
  /** Fail (exit code 1) when the overall mAP50 is below this: a gate for CI. */
  minMap50?: number;
  /** With --session: fail (exit code 1) when any session has a warning (cut short, parts missing, ...). */
  strict?: boolean;
}


/** The threshold flags, checked before any work starts. */
function checkFlags(flags: EvalFlags): void {
  for (const [name, v] of [['--threshold', flags.threshold], ['--min-map50', flags.minMap50]] as const) {
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new GroundstreamError('CONFIG_INVALID', `${name} must be in [0, 1], got ${v}`);
  }
  // `--queries a b clip.mp4` hands the clip to --queries (commander's variadic options take
  // every word up to the next flag): a query that is a file here is that mistake, not a query
  const file = flags.queries?.find((q) => existsSync(q));
  if (file !== undefined) {
    throw new GroundstreamError('CONFIG_INVALID', `--queries took ${JSON.stringify(file)}, a file: give queries with -q (repeatable), or put --queries after the clips or end its list with --`);
  }
}

/** The queries given (-q and --queries together), normalised, or undefined for the default set. */
function givenQueries(flags: EvalFlags): string[] | undefined {
  const all = [...(flags.query ?? []), ...(flags.queries ?? [])];
  return all.length ? customQueries(all) : undefined;
}

/** Flags that load or tune a model: --session runs none, so they would be ignored in silence. */
const MODEL_FLAGS: readonly [keyof ModelFlags, string][] = [
  ['model', '--model'], ['variant', '--variant'], ['provider', '--provider'], ['threads', '--threads'],
  ['workers', '--workers'], ['graphOpt', '--graph-opt'], ['combined', '--combined'], ['maxPixels', '--max-pixels'],
];

/** The verdict of --min-map50 on the overall mAP50, as `--json` carries it (none without a gate). */
function verdict(map50: number | null, flags: EvalFlags): { gate?: { minMap50: number; pass: boolean } } {
  if (flags.minMap50 === undefined) return {};
  return { gate: { minMap50: flags.minMap50, pass: map50 !== null && map50 >= flags.minMap50 } };
}

/** The exit code for the overall mAP50 against --min-map50, said on `out` when there is a gate. */
function gate(map50: number | null, flags: EvalFlags, out: NodeJS.WritableStream): number {
  const { gate: g } = verdict(map50, flags);
  if (!g) return 0;
  if (!flags.json) out.write(`${g.pass ? 'pass' : 'FAIL'}: overall mAP50 ${fmt(map50)} ${g.pass ? '>=' : '<'} ${g.minMap50} (--min-map50)\n`);
  return g.pass ? 0 : 1;
}

const fmt = (v: number | null, d = 3) => (v === null ? 'n/a' : v.toFixed(d));

/** One row of the table; `width`: the longest name's length, so that the columns line up. */
function summary(name: string, s: Scores & { framesPerSecond?: number }, width: number): string {
  return `${name.padEnd(width)} mAP50 ${fmt(s.mAP50)}  held-out ${fmt(s.heldOutMAP50)}  absent-FP ${fmt(s.absentFalsePositiveRate, 4)}  recall ${fmt(s.recallAtThreshold)}${s.framesPerSecond ? `  ${s.framesPerSecond.toFixed(0)} fps` : ''}`;
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
  checkFlags(flags);
  if (flags.session?.length) {
    if (clips.length) throw new GroundstreamError('CONFIG_INVALID', 'give clips or --session recordings, not both');
    return runEvalSessions(flags.session, flags, out);
  }
  if (!clips.length) throw new GroundstreamError('CONFIG_INVALID', 'give at least one clip (or --session)');
  if (flags.strict) throw new GroundstreamError('CONFIG_INVALID', '--strict is for --session (clips have no recording to be cut short)');
  refuseRepeats(clips, 'clip');
  const width = nameWidth(clips);
  // a clip that is not there is said as such (not as its truth file missing)
  for (const c of clips) if (!existsSync(c)) throw new GroundstreamError('INGEST_SOURCE_INVALID', `${c}: no such file`);
  // one clip under two spellings (`a.mp4`, `./a.mp4`) would count its frames twice overall
  refuseSame(clips, clips.map((c) => realpathSync(c)), 'clip');
  const truths = clips.map((c, i) => flags.truth?.[i] ?? truthPathFor(c));
  if (flags.truth && flags.truth.length !== clips.length) {
    throw new GroundstreamError('CONFIG_INVALID', `give one --truth per clip (${clips.length} clips, ${flags.truth.length} truths)`);
  }
  // every truth file read before the first clip is scored: a missing one fails at once
  const truthData = truths.map(readTruth);
  const model = await loadModel(flags.model, modelOptionsFrom(flags));
  try {
    const queries = givenQueries(flags) ?? scoringQueries();
    const threshold = flags.threshold ?? model.info.threshold;
    const overall = new Scorer(queries, threshold);
    const perClip: Record<string, ClipEvaluation> = {};
    let frames = 0;
    let seconds = 0;
    for (const [i, clip] of clips.entries()) {
      const r = await evaluateClip(model, clip, truthData[i]!, { queries, threshold, scorer: overall, onFrame: progress(err, clip) });
      perClip[clip] = r;
      frames += r.decodedFrames;
      seconds += r.decodedFrames / r.framesPerSecond;
      if (!flags.json) out.write(`${summary(clip, r, width)}\n`);
    }
    const all = { ...overall.result(), framesPerSecond: frames / seconds };
    const perClipMean = meanOverClips(Object.values(perClip));
    if (flags.json) {
      out.write(`${JSON.stringify({ model: model.info.name, threshold, ...all, ...verdict(all.mAP50, flags), meanOverClips: perClipMean, clips: perClip })}\n`);
    } else {
      out.write(`${summary('overall', all, width)}\n`);
      // SHAPES_WORLD.md defines mAP per clip; "overall" pools every frame of every clip into one
      // ranking per query (stricter: a query's boxes in one clip compete with its objects in another)
      out.write(`mean over clips: mAP50 ${fmt(perClipMean.mAP50)}, seen ${fmt(perClipMean.seenMAP50)}, held-out ${fmt(perClipMean.heldOutMAP50)}\n`);
      const low = Object.entries(all.perQuery).filter(([, v]) => v !== null).sort((a, b) => a[1]! - b[1]!).slice(0, 5);
      out.write(`lowest AP: ${low.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`);
    }
    return gate(all.mAP50, flags, out);
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

const nameWidth = (names: readonly string[]) => Math.max(40, ...names.map((n) => n.length + 1));

/** Scores are reported per clip or session, keyed by the name given: one given twice would count
 * its frames twice overall while showing once. */
function refuseRepeats(names: readonly string[], what: string): void {
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new GroundstreamError('CONFIG_INVALID', `${what} ${JSON.stringify(twice)} is given twice`);
}

/** As refuseRepeats, for one thing under two names: `keys` says what each name is (a real path,
 * a recording's id). */
function refuseSame(names: readonly string[], keys: readonly string[], what: string): void {
  const i = keys.findIndex((k, j) => keys.indexOf(k) !== j);
  if (i >= 0) throw new GroundstreamError('CONFIG_INVALID', `${what} ${JSON.stringify(names[keys.indexOf(keys[i]!)])} is given twice (also as ${JSON.stringify(names[i])})`);
}

/** One session's scores as `--json` has them. */
interface SessionReport extends SessionEvaluation {
  /** The recording's end line (why the recorder stopped), or null when it has none. */
  end: { reason: string; detail?: string } | null;
  /** What the recording lacks; empty when nothing. */
  warnings: string[];
}

/** Flags --session cannot honour, refused rather than ignored. */
function checkSessionFlags(paths: readonly string[], flags: EvalFlags): void {
  const model = MODEL_FLAGS.filter(([k]) => flags[k] !== undefined).map(([, name]) => name);
  if (model.length) throw new GroundstreamError('CONFIG_INVALID', `${model.join(', ')}: --session scores what the recorded server's model found, and loads no model`);
  if (flags.truth && flags.truth.length !== paths.length) {
    throw new GroundstreamError('CONFIG_INVALID', `give one --truth per session (${paths.length} sessions, ${flags.truth.length} truths)`);
  }
}

/**
 * Scores recorded results instead of running a model. Queries default to the recorded ones and
 * the operating threshold to the highest recorded threshold: nothing below it was recorded, so
 * a lower one is refused, and so are queries the recording did not ask for.
 */
export async function runEvalSessions(paths: string[], flags: EvalFlags, out = process.stdout): Promise<number> {
  refuseRepeats(paths, '--session');
  checkSessionFlags(paths, flags);
  const width = nameWidth(paths);
  const sessions = paths.map((p) => readSession(p));
  // one recording under two names (`rec`, `rec/rec-0001.ndjson`, `./rec`) would count twice overall
  refuseSame(paths, sessions.map((s) => s.header.id), '--session');
  const recorded = Math.max(...sessions.map((s) => s.header.threshold));
  const threshold = flags.threshold ?? recorded;
  if (threshold < recorded) {
    throw new GroundstreamError('CONFIG_INVALID', `--threshold ${threshold} is below the recorded threshold ${recorded}: nothing under it was recorded`);
  }
  const queries = givenQueries(flags) ?? [...new Set(sessions.flatMap((s) => s.header.queries))];
  for (const [i, s] of sessions.entries()) {
    const missing = queries.filter((q) => !s.header.queries.includes(q));
    if (missing.length) throw new GroundstreamError('CONFIG_INVALID', `${paths[i]} did not record ${missing.map((q) => JSON.stringify(q)).join(', ')}`);
  }
  // every truth found and read before the first session is scored: a bad one fails at once
  const clips = sessions.map((s, i) => findSessionClip(s, flags.truth?.[i], paths[i]!, FIXTURES_DIR));
  const truths = clips.map((c) => readTruth(c.truth));
  const overall = new Scorer(queries, threshold);
  const perSession: Record<string, SessionReport> = {};
  let warned = 0;
  for (const [i, s] of sessions.entries()) {
    const frameCount = await sessionFrameCount(s, truths[i]!, clips[i]!.clip);
    const r = evaluateSession(s.results.map((x) => x.message), truths[i]!, { queries, threshold, scorer: overall, ...(frameCount !== undefined ? { frameCount } : {}) });
    const warnings = sessionWarnings(s);
    if (warnings.length) warned++;
    perSession[paths[i]!] = { ...r, end: s.end ? { reason: s.end.reason, ...(s.end.detail ? { detail: s.end.detail } : {}) } : null, warnings };
    // results not scored are said: a server restart mid-recording starts frame numbers again
    const unscored = r.unscored ? `, ${r.unscored} of ${r.results} results not scored (a frame already scored, as after a server restart, or one without truth)` : '';
    if (!flags.json) out.write(`${summary(paths[i]!, r, width)}  ${r.frames} frames${unscored}${warnings.map((w) => `\n  warning: ${w}`).join('')}\n`);
  }
  const all = overall.result();
  const strict = flags.strict ? { strict: { warnings: warned, pass: warned === 0 } } : {};
  if (flags.json) {
    out.write(`${JSON.stringify({ model: sessions[0]!.header.server.model.name, threshold, ...all, ...verdict(all.mAP50, flags), ...strict, sessions: perSession })}\n`);
  } else {
    out.write(`${summary('overall', all, width)}\n`);
    const low = Object.entries(all.perQuery).filter(([, v]) => v !== null).sort((a, b) => a[1]! - b[1]!).slice(0, 5);
    out.write(`lowest AP: ${low.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`);
  }
  const gated = gate(all.mAP50, flags, out);
  if (!flags.strict) return gated;
  if (!flags.json) out.write(warned ? `FAIL: ${warned} session${warned > 1 ? 's have' : ' has'} warnings (--strict)\n` : 'pass: no session warnings (--strict)\n');
  return warned ? 1 : gated;
}
