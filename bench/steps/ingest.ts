/**
 * Issue 4, ingest: FfmpegSource (pacing 'fast') decoding a 1280x720 H.264 clip to 224x224 frames
 * in JS, against ffmpeg alone with the same arguments writing the same raw frames to /dev/null
 * (the decode limit). The clip is the fixture looped into a longer file (stream copy, no
 * re-encode) so that process start-up is a small part of each run. Runs come in pairs, the order
 * alternating, so that neither side always runs on the warmer (or busier) machine; besides wall
 * time, each side's CPU time a frame (ffmpeg, and for FfmpegSource the JS side too) is reported,
 * since it moves less than wall time when a neighbour shares the cores. The runs happen in a fresh
 * plain-Node process (ingest-child.ts), as the server runs.
 *
 *   npx vite-node bench/run.ts --only ingest [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ffmpegPath } from '../../src/ingest/index.js';
import { runBundled } from '../lib/child.js';
import { FIXTURES, ROOT } from '../lib/fixtures.js';
import { fmt, fmtMeasure, measure, ratioOf } from '../lib/stats.js';
import { check, type StepContext, type StepResult } from '../lib/step.js';

export async function ingestStep(ctx: StepContext): Promise<StepResult> {
  const t0 = performance.now();
  const loops = ctx.ci ? 1 : 8;
  const fixture = join(FIXTURES, 'clips/clip05-1280x720.mp4');
  const clip = join(ctx.tmp, `clip05-x${loops}.mp4`);
  const made = spawnSync(ffmpegPath(), ['-nostdin', '-loglevel', 'error', '-stream_loop', String(loops - 1), '-i', fixture, '-c', 'copy', '-y', clip]);
  if (made.status !== 0) throw new Error(`could not make the long clip: ${String(made.stderr)}`);

  // A pair takes about 2 s and the wall-time ratio moves a lot with the neighbours: more pairs.
  const pairs = ctx.ci ? ctx.runs : 3 * ctx.runs;
  const runs = await runBundled<Record<'ours' | 'alone' | 'frames' | 'first' | 'js' | 'ffmpeg' | 'cpuAlone', number[]>>(
    join(ROOT, 'bench/steps/ingest-child.ts'),
    { clip, root: ctx.tmp, pairs },
  );
  const frames = runs.frames[0]!;
  if (runs.frames.some((f) => f !== frames)) throw new Error(`frame counts differ between runs: ${runs.frames.join(', ')}`);
  const ours = measure(runs.ours, 'frames/s');
  const alone = measure(runs.alone, 'frames/s');
  const cost = ratioOf(alone, ours); // time ours / time alone
  const cpuOurs = measure(runs.ffmpeg.map((f, i) => f + runs.js[i]!), 'µs');
  const cpuAlone = measure(runs.cpuAlone, 'µs');
  const cpuCost = ratioOf(cpuOurs, cpuAlone);
  ctx.log(`FfmpegSource ${fmt(ours.median)} frames/s, ffmpeg alone ${fmt(alone.median)} frames/s (x${fmt(cost.median)} the time, x${fmt(cpuCost.median)} the CPU)`);
  return {
    name: 'ingest',
    title: 'Ingest (issue 4)',
    seconds: (performance.now() - t0) / 1000,
    targets: [
      check(4, 'FfmpegSource, 1280x720 H.264 → 224x224 RGB, pacing fast', ours.median, '>=', 150, `${fmtMeasure(ours)} frames/s`, '≥ 150 frames/s'),
      check(4, 'FfmpegSource time vs ffmpeg alone to /dev/null, same frames', cost.median, '<=', 1.2, `${fmtMeasure(cost)}x`, '≤ 1.2x'),
    ],
    tables: [
      {
        title: `Decoding ${frames} frames of 1280x720 H.264 to 224x224 RGB`,
        columns: ['what', 'frames/s', 'time vs ffmpeg alone', 'CPU a frame (µs)', 'CPU vs ffmpeg alone'],
        rows: [
          ["FfmpegSource (src/ingest), pacing 'fast', frames cut and emitted in JS", fmtMeasure(ours), `${fmtMeasure(cost)}x`, fmtMeasure(cpuOurs), `${fmtMeasure(cpuCost)}x`],
          ['ffmpeg alone, same arguments, raw frames to /dev/null', fmtMeasure(alone), '1x', fmtMeasure(cpuAlone), '1x'],
        ],
        note:
          `fixtures/clips/clip05-1280x720.mp4 looped ${loops} times (stream copy); start of the process to the end of the last frame; ${pairs} pairs, each back to back, the order alternating. ` +
          `CPU: ffmpeg's (and for FfmpegSource this process's too), from /proc. ` +
          `Both run from a fresh plain-Node process (bench/steps/ingest-child.ts, bundled), as the server does. FfmpegSource: first frame after ${fmtMeasure(measure(runs.first, 'ms'))} ms; the JS side (pipe reads, framing, emitting) costs ${fmtMeasure(measure(runs.js, 'µs'))} µs of CPU a frame, on the same 2 cores as ffmpeg's decoder threads.`,
      },
    ],
    charts: [],
    notes: [],
    data: {
      frames,
      pairs,
      firstFrameMs: measure(runs.first, 'ms'),
      jsCpuPerFrameUs: measure(runs.js, 'µs'),
      ffmpegCpuPerFrameUs: measure(runs.ffmpeg, 'µs'),
      aloneCpuPerFrameUs: cpuAlone,
      sourceFps: ours,
      ffmpegAloneFps: alone,
      timeRatio: cost,
      cpuRatio: cpuCost,
    },
  };
}
