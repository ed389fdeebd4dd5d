/** `groundstream eval <clip.mp4...>`: SHAPES_WORLD.md's scores for a model on clips with truth. */
import { existsSync, readFileSync } from 'node:fs';
import { GroundstreamError } from '../errors.js';
import { Scorer, type Scores } from '../eval/average-precision.js';
import { evaluateClip, type ClipEvaluation } from '../eval/evaluate-clip.js';
import { scoringQueries, type Truth } from '../eval/shapes-world.js';
import { loadModel } from '../model/index.js';
import { modelOptionsFrom, type ModelFlags } from './model-flags.js';

export interface EvalFlags extends ModelFlags {
  truth?: string[];
  queries?: string[];
  threshold?: number;
  json?: boolean;
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
  const truths = clips.map((c, i) => flags.truth?.[i] ?? c.replace(/\.[^./]+$/, '.truth.json'));
  if (flags.truth && flags.truth.length !== clips.length) {
    throw new GroundstreamError('CONFIG_INVALID', `give one --truth per clip (${clips.length} clips, ${flags.truth.length} truths)`);
  }
  const model = await loadModel(flags.model, modelOptionsFrom(flags));
  try {
    const queries = flags.queries?.length ? flags.queries.map((q) => q.trim().toLowerCase()) : scoringQueries();
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
    if (flags.json) {
      out.write(`${JSON.stringify({ model: model.info.name, threshold, ...all, clips: perClip })}\n`);
    } else {
      out.write(`${summary('overall', all)}\n`);
      const low = Object.entries(all.perQuery).filter(([, v]) => v !== null).sort((a, b) => a[1]! - b[1]!).slice(0, 5);
      out.write(`lowest AP: ${low.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`);
    }
    return 0;
  } finally {
    await model.close();
  }
}
