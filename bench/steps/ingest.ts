/**
 * Issue 4, ingest: FfmpegSource (pacing 'fast') decoding a 1280x720 H.264 clip to 224x224 frames
 * in JS, against ffmpeg alone with the same arguments writing the same raw frames to /dev/null
 * (the decode limit). The clip is the fixture looped into a longer file (stream copy, no
 * re-encode) so that process start-up is a small part of each run. Runs come in pairs, the order
 * alternating, so that neither side always runs on the warmer (or busier) machine; besides wall
 * time, each side's CPU time a frame (ffmpeg, and for FfmpegSource the JS side too) is reported,
 * since it moves less than wall time when a neighbour shares the cores.
 *
 *   npx vite-node bench/run.ts --only ingest [--runs N]
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpegPath, openFfmpegSource, type DecodeArgs, type FfmpegSource } from '../../src/ingest/index.js';
import { FIXTURES } from '../lib/fixtures.js';
import { fmt, fmtMeasure, measure, ratioOf } from '../lib/stats.js';
import { check, type StepContext, type StepResult } from '../lib/step.js';

const SIZE = 224;

/** CPU seconds of this process's reaped children so far (cutime + cstime, /proc/self/stat fields
 * 16 and 17, in USER_HZ = 100 ticks); NaN where there is no /proc. */
function childCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return NaN;
  }
}

interface SourceRun {
  frames: number;
  seconds: number;
  /** From start() to the first frame, ms (process start, probing, first decode). */
  firstFrameMs: number;
  /** CPU of this process (the JS side: pipe reads, framing, emitting), µs a frame. */
  jsCpuPerFrameUs: number;
  /** CPU of the ffmpeg process, µs a frame. */
  ffmpegCpuPerFrameUs: number;
  source: FfmpegSource;
}

interface AloneRun {
  seconds: number;
  /** CPU of ffmpeg, seconds. */
  cpu: number;
}

async function viaSource(clip: string, root: string): Promise<SourceRun> {
  const source = await openFfmpegSource(clip, { streamId: 'bench', size: { width: SIZE, height: SIZE }, pacing: 'fast', access: { fileRoots: [root] } });
  let frames = 0;
  let bytes = 0;
  let first = 0;
  source.frames$.subscribe((f) => {
    if (frames++ === 0) first = performance.now();
    bytes += f.data[0]!; // touch the frame as a consumer would
  });
  const done = new Promise<void>((resolve) => source.status$.subscribe({ complete: () => resolve() }));
  const c0 = process.cpuUsage();
  const k0 = childCpuSeconds();
  const t0 = performance.now();
  source.start();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  // The session waits for ffmpeg to be reaped before the source ends: its CPU is counted by now.
  const ffmpegCpu = childCpuSeconds() - k0;
  if (source.status.state !== 'ended') throw new Error(`source ${source.status.state}: ${source.status.detail ?? ''}`);
  void bytes;
  return { frames, seconds, firstFrameMs: first - t0, jsCpuPerFrameUs: (cpu.user + cpu.system) / frames, ffmpegCpuPerFrameUs: (ffmpegCpu * 1e6) / frames, source };
}

function viaFfmpegAlone(a: DecodeArgs): Promise<AloneRun> {
  // The same arguments, quieter, and the same raw frames to /dev/null instead of a pipe.
  const input = a.inputOptions.map((o) => (o === 'info' ? 'error' : o));
  const args = [...input, '-i', a.input, ...a.outputOptions, '-y', '/dev/null'];
  return new Promise((resolve, reject) => {
    const k0 = childCpuSeconds();
    const t0 = performance.now();
    const p = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code === 0) resolve({ seconds, cpu: childCpuSeconds() - k0 });
      else reject(new Error(`ffmpeg exited ${code}: ${err}`));
    });
  });
}

export async function ingestStep(ctx: StepContext): Promise<StepResult> {
  const t0 = performance.now();
  const loops = ctx.ci ? 1 : 8;
  const fixture = join(FIXTURES, 'clips/clip05-1280x720.mp4');
  const clip = join(ctx.tmp, `clip05-x${loops}.mp4`);
  const made = spawnSync(ffmpegPath(), ['-nostdin', '-loglevel', 'error', '-stream_loop', String(loops - 1), '-i', fixture, '-c', 'copy', '-y', clip]);
  if (made.status !== 0) throw new Error(`could not make the long clip: ${String(made.stderr)}`);

  const warm = await viaSource(clip, ctx.tmp); // page cache, binary, JIT
  const args = warm.source.commandLine;
  await viaFfmpegAlone(args);
  // A pair takes about 2 s and the wall-time ratio moves a lot with the neighbours: more pairs.
  const pairs = ctx.ci ? ctx.runs : 3 * ctx.runs;
  const runs = { ours: [] as number[], alone: [] as number[], frames: [] as number[], first: [] as number[], js: [] as number[], ffmpeg: [] as number[], cpuAlone: [] as number[] };
  for (let r = 0; r < pairs; r++) {
    const aloneFirst = r % 2 === 1 ? await viaFfmpegAlone(args) : undefined;
    const v = await viaSource(clip, ctx.tmp);
    const a = aloneFirst ?? (await viaFfmpegAlone(args));
    runs.ours.push(v.frames / v.seconds);
    runs.frames.push(v.frames);
    runs.first.push(v.firstFrameMs);
    runs.js.push(v.jsCpuPerFrameUs);
    runs.ffmpeg.push(v.ffmpegCpuPerFrameUs);
    runs.alone.push(v.frames / a.seconds);
    runs.cpuAlone.push((a.cpu * 1e6) / v.frames);
  }
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
          `FfmpegSource: first frame after ${fmtMeasure(measure(runs.first, 'ms'))} ms; the JS side (pipe reads, framing, emitting) costs ${fmtMeasure(measure(runs.js, 'µs'))} µs of CPU a frame, on the same 2 cores as ffmpeg's decoder threads.`,
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
